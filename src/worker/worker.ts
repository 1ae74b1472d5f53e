// A worker: claims segment tasks from the queue, keeps their leases renewed while an engine
// thread synthesizes, and reports each outcome. Synthesis never runs on this event loop, so
// lease renewal is never starved by a long synthesis.

import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineHost, ModelQuarantine } from '../engines/engine-host.js';
import type { VoiceInfo } from '../engines/engine.js';
import { enabledEngines, type EngineSettings } from '../engines/registry.js';
import { PermanentTaskError, TaskAbortedError, errorCode, toError } from '../errors.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../logger.js';
import type { ClaimedTask, TaskRecord } from '../queue/backend.js';
import type { Backend } from '../store/backend.js';
import { SegmentRunner } from './segment-runner.js';

/** Settings of one worker (one OS process may run one worker with several slots). */
export interface WorkerOptions {
  workerId: string;
  /** Tasks run at once, each on its own engine thread. */
  concurrency: number;
  leaseDurationMs: number;
  stalledIntervalMs: number;
  pollIntervalMs: number;
  taskTimeoutMs: number;
  /** How long `stop()` lets a running task finish before releasing its lease. */
  shutdownGraceMs: number;
  /** Engines' files: derived model copies go under `<dataDir>/engine-cache`. */
  dataDir: string;
  modelsDir: string;
  espeakDataDir: string;
  coquiUrl: string;
  coquiTimeoutMs: number;
  /** How often voices are listed again and republished when they changed. */
  voiceRescanIntervalMs: number;
}

/** The worker's lifecycle: created → starting → running → draining → stopped. */
export type WorkerState = 'created' | 'starting' | 'running' | 'draining' | 'stopped';

/** Why a running task's signal was aborted. */
class TaskInterrupted extends TaskAbortedError {
  constructor(readonly reason: 'lease-lost' | 'drain') {
    super(`task interrupted: ${reason}`);
  }
}

interface Slot {
  /** Engine hosts by engine name. */
  engines: Map<string, EngineHost>;
  runner: SegmentRunner;
  current: AbortController | null;
}

export class Worker {
  readonly #backend: Backend;
  readonly #jobs: JobService;
  readonly #options: WorkerOptions;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  readonly #wake = new AbortController();
  #loops: Promise<void>[] = [];
  #sweepTimer: NodeJS.Timeout | undefined;
  #rescanTimer: NodeJS.Timeout | undefined;
  #rescanning = false;
  /** What was last published per engine, to republish only changes. */
  readonly #published = new Map<string, string>();
  readonly #quarantine = new ModelQuarantine();
  #state: WorkerState = 'created';

  constructor(backend: Backend, jobs: JobService, options: WorkerOptions, logger: Logger) {
    this.#backend = backend;
    this.#jobs = jobs;
    this.#options = options;
    this.#logger = logger.child({ workerId: options.workerId });
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** Warms the engines, publishes their voices, then starts claiming tasks. */
  async start(): Promise<void> {
    this.#state = 'starting';
    for (let i = 0; i < this.#options.concurrency; i++) this.#slots.push(await this.#newSlot());
    await this.#publishVoices();
    this.#state = 'running';
    this.#loops = this.#slots.map((slot) => this.#loop(slot));
    this.#sweepTimer = setInterval(() => void this.#sweep(), this.#options.stalledIntervalMs);
    this.#sweepTimer.unref();
    this.#rescanTimer = setInterval(
      () => void this.#rescanVoices(),
      this.#options.voiceRescanIntervalMs,
    );
    this.#rescanTimer.unref();
    this.#logger.info({ concurrency: this.#options.concurrency }, 'worker started');
  }

  /**
   * Drains: stops claiming, lets running tasks finish for up to `shutdownGraceMs`, releases the
   * leases of those still running, and closes the engines.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'draining') return;
    this.#state = 'draining';
    clearInterval(this.#sweepTimer);
    clearInterval(this.#rescanTimer);
    this.#wake.abort();
    const grace = setTimeout(() => this.#interruptAll(), this.#options.shutdownGraceMs);
    await Promise.all(this.#loops);
    clearTimeout(grace);
    await Promise.all(
      this.#slots.flatMap((slot) => [...slot.engines.values()].map((e) => e.close())),
    );
    this.#state = 'stopped';
    this.#logger.info('worker stopped');
  }

  #engineSettings(): EngineSettings {
    const { modelsDir, espeakDataDir, coquiUrl, coquiTimeoutMs, dataDir } = this.#options;
    const cacheDir = path.join(dataDir, 'engine-cache');
    return { modelsDir, espeakDataDir, coquiUrl, coquiTimeoutMs, cacheDir };
  }

  /** One host per engine, started together; the runner finds them by voice id prefix. */
  async #newSlot(): Promise<Slot> {
    const settings = this.#engineSettings();
    const engines = new Map<string, EngineHost>();
    const byPrefix = new Map<string, EngineHost>();
    for (const spec of enabledEngines(settings)) {
      const { name, isolation } = spec;
      const host = new EngineHost({
        engine: name,
        isolation,
        settings,
        quarantine: this.#quarantine,
        logger: this.#logger,
      });
      engines.set(name, host);
      for (const prefix of spec.prefixes) byPrefix.set(prefix, host);
    }
    await Promise.all([...engines.values()].map((host) => host.start()));
    return {
      engines,
      runner: new SegmentRunner(this.#backend, byPrefix, this.#options.taskTimeoutMs),
      current: null,
    };
  }

  /** Publishes the first slot's voices of each engine whose list changed since last time. */
  async #publishVoices(): Promise<void> {
    const first = this.#slots[0];
    if (!first) return;
    for (const [name, host] of first.engines) {
      const voices = await host.voices();
      const listed = JSON.stringify(voices);
      if (this.#published.get(name) === listed) continue;
      await this.#backend.voices.publish(name, voices);
      this.#published.set(name, listed);
      this.#logVoiceErrors(name, voices);
    }
  }

  #logVoiceErrors(engine: string, voices: VoiceInfo[]): void {
    for (const { id, error } of voices) {
      if (!error) continue;
      const fields = { engine, voice: id, code: error.code, reason: error.message };
      this.#logger.error(fields, 'voice unusable');
    }
  }

  /** Models appear and disappear without a restart: list again, publish what changed. */
  async #rescanVoices(): Promise<void> {
    if (this.#rescanning || this.#state !== 'running') return;
    this.#rescanning = true;
    try {
      await this.#publishVoices();
    } catch (error) {
      this.#logger.warn({ err: toError(error) }, 'voice rescan failed');
    } finally {
      this.#rescanning = false;
    }
  }

  async #loop(slot: Slot): Promise<void> {
    while (this.#state === 'running') {
      const claimed = await this.#claim();
      if (claimed)
        await this.#run(slot, claimed).catch((error: unknown) => this.#reportLost(error));
      else
        await sleep(this.#options.pollIntervalMs, undefined, { signal: this.#wake.signal }).catch(
          () => {},
        );
    }
  }

  /** A queue or store error while reporting an outcome: the lease will expire and the task rerun. */
  #reportLost(error: unknown): void {
    this.#logger.warn({ err: toError(error) }, 'task outcome not recorded');
  }

  async #claim(): Promise<ClaimedTask | undefined> {
    try {
      const [claimed] = await this.#backend.queue.claim(
        this.#options.workerId,
        this.#options.leaseDurationMs,
      );
      return claimed;
    } catch (error) {
      this.#logger.warn({ err: toError(error) }, 'claim failed');
      return undefined;
    }
  }

  async #run(slot: Slot, claimed: ClaimedTask): Promise<void> {
    const abort = new AbortController();
    slot.current = abort;
    const renewal = this.#keepLease(claimed, abort);
    const log = this.#logger.child({ taskId: claimed.task.id, attempt: claimed.attempt });
    const startedAt = Date.now();
    try {
      const outcome = await slot.runner.run(claimed, abort.signal);
      const completed = await this.#backend.queue.complete(claimed.lease);
      log.debug({ outcome, completed, durationMs: Date.now() - startedAt }, 'task finished');
    } catch (error) {
      await this.#afterError(claimed, abort.signal, toError(error), log);
    } finally {
      clearInterval(renewal);
      slot.current = null;
    }
  }

  /** Renews the lease every third of its duration; a refused renewal aborts the task. */
  #keepLease(claimed: ClaimedTask, abort: AbortController): NodeJS.Timeout {
    const everyMs = Math.max(10, Math.floor(this.#options.leaseDurationMs / 3));
    return setInterval(() => {
      this.#backend.queue
        .renew(claimed.lease, this.#options.leaseDurationMs)
        .then((held) => {
          if (!held) abort.abort(new TaskInterrupted('lease-lost'));
        })
        .catch((error: unknown) =>
          this.#logger.warn({ err: toError(error) }, 'lease renewal failed'),
        );
    }, everyMs);
  }

  async #afterError(
    claimed: ClaimedTask,
    signal: AbortSignal,
    error: Error,
    log: Logger,
  ): Promise<void> {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof TaskInterrupted) {
      if (reason.reason === 'drain') await this.#backend.queue.release(claimed.lease);
      log.warn({ reason: reason.reason }, 'task interrupted');
      return;
    }
    const permanent = error instanceof PermanentTaskError;
    const failure = {
      code: errorCode(error, 'TTSQ_TASK_FAILED'),
      message: error.message,
      permanent,
    };
    const outcome = await this.#backend.queue.fail(claimed.lease, failure);
    if (outcome.kind === 'retrying')
      log.warn({ err: error, runAt: outcome.runAt }, 'task retrying');
    if (outcome.kind === 'dead') {
      log.error({ err: error }, 'task dead-lettered');
      await this.#jobs.fail(claimed.task.groupId, { code: failure.code, message: failure.message });
    }
  }

  async #sweep(): Promise<void> {
    try {
      const { requeued, dead } = await this.#backend.queue.sweepExpiredLeases();
      for (const task of requeued)
        this.#logger.warn({ taskId: task.id, stalledCount: task.stalledCount }, 'task stalled');
      for (const task of dead) await this.#failStalled(task);
    } catch (error) {
      this.#logger.warn({ err: toError(error) }, 'lease sweep failed');
    }
  }

  async #failStalled(task: TaskRecord): Promise<void> {
    const error = task.lastError ?? {
      code: 'TTSQ_TASK_STALLED',
      message: 'lease expired too often',
    };
    this.#logger.error({ taskId: task.id, stalledCount: task.stalledCount }, 'task dead-lettered');
    await this.#jobs.fail(task.groupId, error);
  }

  #interruptAll(): void {
    for (const slot of this.#slots) slot.current?.abort(new TaskInterrupted('drain'));
  }
}
