// Runs one claimed segment task: synthesize, store the segment's audio, record it on the job,
// and assemble the job's audio when it was the last segment. Every step is idempotent, so a
// task that runs again after a crash replaces what it wrote and never corrupts.

import { encodeWav } from '../audio/wav.js';
import type { EngineHost } from '../engines/engine-host.js';
import { parseVoiceId } from '../engines/engine.js';
import { PermanentTaskError } from '../errors.js';
import { segmentCacheKey } from '../jobs/cache-key.js';
import { parseSegmentPayload } from '../jobs/payload.js';
import type { SegmentResult, SegmentTaskPayload } from '../jobs/types.js';
import type { ClaimedTask } from '../queue/backend.js';
import type { Backend } from '../store/backend.js';
import { assembleJob, segmentAudioKey } from './assembler.js';

/** What running a task came to. `skipped`: its job had already ended, nothing was done. */
export type SegmentOutcome = 'synthesized' | 'assembled' | 'skipped';

export class SegmentRunner {
  readonly #backend: Backend;
  /** Engine hosts by voice id prefix; several prefixes may share one host. */
  readonly #engines: ReadonlyMap<string, EngineHost>;
  readonly #taskTimeoutMs: number;

  constructor(backend: Backend, engines: ReadonlyMap<string, EngineHost>, taskTimeoutMs: number) {
    this.#backend = backend;
    this.#engines = engines;
    this.#taskTimeoutMs = taskTimeoutMs;
  }

  /**
   * Runs the task to the point where it may be completed.
   * @throws PermanentTaskError or TransientTaskError for the queue to act on; an aborted signal
   * (lease lost, job canceled, drain) rejects with the signal's reason.
   */
  async run(claimed: ClaimedTask, signal: AbortSignal): Promise<SegmentOutcome> {
    const payload = parseSegmentPayload(claimed.task.payload);
    // Cancel and failure remove a job's tasks; this catches the race with a claim.
    if (!(await this.#backend.jobs.noteAttemptStarted(payload.jobId, Date.now()))) return 'skipped';

    const segment = await this.#synthesize(payload, signal);
    signal.throwIfAborted();
    const { allDone } = await this.#backend.jobs.recordSegment(payload.jobId, segment);
    if (!allDone) return 'synthesized';

    signal.throwIfAborted();
    await assembleJob(this.#backend, payload.jobId, payload.segmentCount);
    return 'assembled';
  }

  async #synthesize(payload: SegmentTaskPayload, signal: AbortSignal): Promise<SegmentResult> {
    const voiceId = parseVoiceId(payload.voice);
    const engine = voiceId && this.#engines.get(voiceId.engine);
    if (!voiceId || !engine) {
      throw new PermanentTaskError(
        'TTSQ_VOICE_UNKNOWN',
        `no engine here serves voice ${payload.voice}`,
      );
    }
    const result = await engine.synthesize(
      {
        text: payload.text,
        voice: voiceId.voice,
        speed: payload.speed,
        voicePrefix: voiceId.engine,
      },
      { timeoutMs: this.#taskTimeoutMs, signal },
    );
    const audioKey = segmentAudioKey(payload.jobId, payload.index);
    await this.#backend.audio.put(audioKey, encodeWav(result.samples, result.sampleRateHz));
    return {
      index: payload.index,
      audioKey,
      sampleRateHz: result.sampleRateHz,
      sampleCount: result.samples.length,
      cacheKey: segmentCacheKey({
        engine: voiceId.engine,
        engineVersion: engine.version,
        modelDigest: result.modelDigest ?? '',
        voice: voiceId.voice,
        text: payload.text,
        speed: payload.speed,
        sampleRateHz: result.sampleRateHz,
      }),
    };
  }
}
