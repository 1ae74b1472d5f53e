// Job lifecycle operations shared by the API, the workers and the CLI: submit, read, list,
// cancel, fail and redrive. Validation of requests happens here, before anything is queued.

import type { Config } from '../config.js';
import type { VoiceInfo } from '../engines/engine.js';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { newJobId, segmentTaskId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Page, TaskInput } from '../queue/backend.js';
import type { Backend } from '../store/backend.js';
import { splitIntoSegments } from './segmenter.js';
import type { JobQuery } from './job-store.js';
import type { AudioFormat, JobRecord, SegmentTaskPayload } from './types.js';

/** A job request as the client sent it (already shape-checked by the HTTP schema). */
export interface JobSubmission {
  text: string;
  voice?: string;
  format?: AudioFormat;
  speed?: number;
  priority?: number;
}

type JobSettings = Pick<
  Config,
  'defaultVoice' | 'maxTextChars' | 'segmentMaxChars' | 'maxAttempts'
>;

/** How long a read of the voice catalogue is reused, in ms. */
const VOICE_CACHE_MS = 1_000;

/** Default queue priority of a job: lower runs first. */
export const DEFAULT_PRIORITY = 100;

export class JobService {
  readonly #backend: Backend;
  readonly #settings: JobSettings;
  readonly #logger: Logger;
  #voiceCache: { at: number; voices: Map<string, VoiceInfo> } | null = null;

  constructor(backend: Backend, settings: JobSettings, logger: Logger) {
    this.#backend = backend;
    this.#settings = settings;
    this.#logger = logger;
  }

  /**
   * Validates a submission, splits its text into segments and stores the job with one task per
   * segment. Resolves once both are durably stored.
   * @throws ValidationError for empty or over-long text, an unknown voice or unsupported speed.
   */
  async submit(submission: JobSubmission, ownerId: string): Promise<JobRecord> {
    const voice = await this.#resolveVoice(submission.voice ?? this.#settings.defaultVoice);
    const speed = submission.speed ?? 1;
    if (speed !== 1 && !voice.capabilities.speed) {
      throw new ValidationError(
        'TTSQ_SPEED_UNSUPPORTED',
        `voice ${voice.id} does not support speed`,
      );
    }
    const segments = this.#segment(submission.text);
    const job = newJobRecord(ownerId, segments.length, {
      text: submission.text,
      voice: voice.id,
      format: submission.format ?? 'wav',
      speed,
      priority: submission.priority ?? DEFAULT_PRIORITY,
    });

    await this.#backend.jobs.create(job, segmentTasks(job, segments, this.#settings.maxAttempts));
    this.#logger.info({ jobId: job.id, ownerId, segments: segments.length }, 'job queued');
    return job;
  }

  /** The job if it exists and belongs to `ownerId`. @throws NotFoundError otherwise. */
  async get(jobId: string, ownerId: string): Promise<JobRecord> {
    const job = await this.#backend.jobs.get(jobId);
    if (!job || job.ownerId !== ownerId)
      throw new NotFoundError(`job ${jobId} not found`, 'TTSQ_JOB_NOT_FOUND');
    return job;
  }

  list(query: JobQuery): Promise<Page<JobRecord>> {
    return this.#backend.jobs.list(query);
  }

  /**
   * Cancels a queued or running job: its waiting tasks are removed and running ones lose their
   * lease, so their results are dropped. @throws ConflictError when the job already ended.
   */
  async cancel(jobId: string, ownerId: string): Promise<JobRecord> {
    const job = await this.get(jobId, ownerId);
    const ended = await this.#backend.jobs.finish(jobId, { status: 'canceled' }, Date.now());
    if (!ended) {
      throw new ConflictError(
        'TTSQ_JOB_FINISHED',
        `job ${jobId} has already ended (${job.status})`,
      );
    }
    await this.#backend.queue.cancel(taskIdsOf(job));
    await this.#backend.audio.deletePrefix(`jobs/${jobId}`);
    this.#logger.info({ jobId }, 'job canceled');
    return this.get(jobId, ownerId);
  }

  /** Fails a job for good (a segment was dead-lettered) and cancels its other tasks. */
  async fail(jobId: string, error: { code: string; message: string }): Promise<void> {
    const job = await this.#backend.jobs.get(jobId);
    if (!job) return;
    const ended = await this.#backend.jobs.finish(jobId, { status: 'failed', error }, Date.now());
    if (!ended) return;
    await this.#backend.queue.cancel(taskIdsOf(job));
    this.#logger.error({ jobId, code: error.code, reason: error.message }, 'job failed');
  }

  /**
   * Gives a failed job another run: it is reopened and every unfinished segment
   * task is redriven with a fresh attempt budget. Returns the task ids redriven.
   * @throws NotFoundError for an unknown job, ConflictError when it has not failed.
   */
  async redrive(jobId: string): Promise<string[]> {
    const job = await this.#backend.jobs.get(jobId);
    if (!job) throw new NotFoundError(`job ${jobId} not found`, 'TTSQ_JOB_NOT_FOUND');
    if (!(await this.#backend.jobs.reopen(jobId))) {
      throw new ConflictError('TTSQ_JOB_NOT_REDRIVABLE', `job ${jobId} is ${job.status}`);
    }
    const redriven: string[] = [];
    for (const taskId of taskIdsOf(job)) {
      if (await this.#backend.queue.redrive(taskId)) redriven.push(taskId);
    }
    this.#logger.info({ jobId, tasks: redriven.length }, 'job redriven');
    return redriven;
  }

  /** Every voice the workers published. */
  async voices(): Promise<VoiceInfo[]> {
    return [...(await this.#voiceMap()).values()];
  }

  async #resolveVoice(voiceId: string): Promise<VoiceInfo> {
    const voices = await this.#voiceMap();
    if (voices.size === 0) {
      throw new UnavailableError(
        'TTSQ_VOICES_UNAVAILABLE',
        'no worker has published its voices yet',
      );
    }
    const voice = voices.get(voiceId);
    if (!voice) {
      throw new ValidationError(
        'TTSQ_VOICE_UNKNOWN',
        `unknown voice ${JSON.stringify(voiceId)}; see GET /v1/voices`,
      );
    }
    if (voice.error) {
      throw new ValidationError(
        'TTSQ_VOICE_UNAVAILABLE',
        `voice ${voiceId} is unusable: ${voice.error.message}`,
        422,
      );
    }
    return voice;
  }

  async #voiceMap(): Promise<Map<string, VoiceInfo>> {
    const cached = this.#voiceCache;
    if (cached && Date.now() - cached.at < VOICE_CACHE_MS) return cached.voices;
    const voices = new Map((await this.#backend.voices.list()).map((voice) => [voice.id, voice]));
    this.#voiceCache = { at: Date.now(), voices };
    return voices;
  }

  #segment(text: string): string[] {
    if (text.length > this.#settings.maxTextChars) {
      throw new ValidationError(
        'TTSQ_TEXT_TOO_LONG',
        `text has ${text.length} characters; the limit is ${this.#settings.maxTextChars}`,
      );
    }
    const segments = splitIntoSegments(text, this.#settings.segmentMaxChars);
    if (segments.length === 0)
      throw new ValidationError('TTSQ_TEXT_EMPTY', 'text has nothing to speak');
    return segments;
  }
}

function newJobRecord(
  ownerId: string,
  segmentCount: number,
  request: JobRecord['request'],
): JobRecord {
  return {
    id: newJobId(),
    ownerId,
    status: 'queued',
    request,
    segmentCount,
    segmentsDone: 0,
    attempts: 0,
    error: null,
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    audio: null,
  };
}

function segmentTasks(job: JobRecord, segments: string[], maxAttempts: number): TaskInput[] {
  return segments.map((text, index) => {
    const payload: SegmentTaskPayload = {
      jobId: job.id,
      index,
      segmentCount: job.segmentCount,
      text,
      voice: job.request.voice,
      speed: job.request.speed,
    };
    return {
      id: segmentTaskId(job.id, index),
      groupId: job.id,
      payload,
      priority: job.request.priority,
      maxAttempts,
    };
  });
}

/** The ids of every segment task of a job. */
export function taskIdsOf(job: Pick<JobRecord, 'id' | 'segmentCount'>): string[] {
  return Array.from({ length: job.segmentCount }, (_, index) => segmentTaskId(job.id, index));
}
