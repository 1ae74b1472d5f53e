// The worker process side of an engine: runs the engine in a worker thread (or a child process, for
// native engines that may end their process) so that synthesis never blocks the main loop that
// renews queue leases, and replaces the thread or process when it hangs or dies.

import type { Logger } from 'pino';
import {
  PermanentTaskError,
  TaskAbortedError,
  TransientTaskError,
  TtsqError,
  toError,
} from '../errors.js';
import type { SynthesisRequest, SynthesisResult, VoiceInfo } from './engine.js';
import { openEngineChannel, type EngineChannel } from './engine-channel.js';
import type {
  EngineMessage,
  EngineThreadCall,
  EngineThreadData,
  SerializedEngineError,
} from './engine-service.js';
import { DEFAULT_ENGINE_SETTINGS, type EngineIsolation, type EngineSettings } from './registry.js';

/** How long `voices()` may wait for the thread, in ms. */
const VOICES_TIMEOUT_MS = 30_000;
/** The longest delay `setTimeout` accepts, in ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options of an `EngineHost`. */
export interface EngineHostOptions {
  /** Engine name, as in `ENGINE_NAMES` (`espeak`). */
  engine: string;
  /** Where the engine runs: a worker thread (default) or a child process. */
  isolation?: EngineIsolation;
  /** What the engine reads from the configuration; defaults suit eSpeak alone. */
  settings?: EngineSettings;
  /** Models that crashed an engine, shared by the hosts of one worker. */
  quarantine?: ModelQuarantine;
  logger?: Logger;
}

/**
 * Models that ended an engine process while it loaded them, by model digest, with the reason.
 * Their voices are listed with an error and refused; a replaced model has a new digest.
 */
export class ModelQuarantine {
  readonly #reasons = new Map<string, string>();

  add(digest: string, reason: string): void {
    this.#reasons.set(digest, reason);
  }

  reasonFor(digest: string | undefined): string | undefined {
    return digest === undefined ? undefined : this.#reasons.get(digest);
  }
}

/** Limits of one call. */
export interface EngineCallOptions {
  /** The call is killed (and its thread replaced) after this many ms of running in the thread. */
  timeoutMs: number;
  /** Aborting it (job canceled) kills the call and replaces the thread. */
  signal?: AbortSignal;
}

/** What a started engine reports. */
export interface EngineReady {
  voices: VoiceInfo[];
  version: string;
}

type CallResult = VoiceInfo[] | SynthesisResult;

interface PendingCall {
  id: number;
  resolve: (result: CallResult) => void;
  reject: (error: Error) => void;
}

/** @throws RangeError unless `timeoutMs` is a delay `setTimeout` honours (1 ms to ~24.8 days). */
function assertTimeout(timeoutMs: number): void {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(
      `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${timeoutMs}`,
    );
  }
}

/** Rebuilds an error that crossed the thread: same code and retry behaviour. */
function rebuildError(error: SerializedEngineError): TtsqError {
  if (error.code === null) {
    return new TransientTaskError('TTSQ_ENGINE_FAILED', `${error.name}: ${error.message}`);
  }
  if (error.permanent) return new PermanentTaskError(error.code, error.message);
  return new TransientTaskError(error.code, error.message);
}

/** The error of an aborted call: the signal's reason when it is a ttsq error, else ours. */
function abortedError(reason: unknown): TtsqError {
  if (reason instanceof TtsqError) return reason;
  return new TaskAbortedError('Synthesis aborted: the job was canceled', { cause: reason });
}

/** Why an engine died, as the host tells whoever waited on it. */
type ExitCallback = (thread: EngineThread, exitCode: number, crashedModel: string | null) => void;

/** One engine thread or process: its start-up, the single call it runs at a time, and its end. */
class EngineThread {
  readonly ready: Promise<EngineReady>;
  readonly #channel: EngineChannel;
  readonly #logger: Logger | undefined;
  #call: PendingCall | null = null;
  #nextCallId = 1;
  #exited = false;
  #suspect = false;
  /** Digest of the model being loaded right now, if any. */
  #loadingModel: string | null = null;
  #resolveReady!: (ready: EngineReady) => void;
  #rejectReady!: (error: Error) => void;

  constructor(
    data: EngineThreadData,
    isolation: EngineIsolation,
    onExit: ExitCallback,
    logger?: Logger,
  ) {
    this.ready = new Promise<EngineReady>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A failed start is reported to whoever awaits `ready`; this keeps it from being unhandled.
    this.ready.catch(() => undefined);
    this.#logger = logger;

    this.#channel = openEngineChannel(isolation, data, {
      message: (message) => this.#onMessage(message),
      error: (error) => this.#fail(this.#crashed(error)),
      exit: (exitCode) => this.#onExit(exitCode, onExit),
      output: (line) => this.#logger?.warn({ output: line }, 'engine output'),
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The engine threw an unexpected error: the thread should be replaced before the next call. */
  get suspect(): boolean {
    return this.#suspect;
  }

  /** Sends one request; only one may be in flight. Rejects if the thread dies first. */
  request(body: EngineThreadCall): Promise<CallResult> {
    if (this.#exited) return Promise.reject(this.#crashed(new Error('engine thread has exited')));
    if (this.#call) return Promise.reject(new Error('engine thread is busy'));
    const id = this.#nextCallId++;
    return new Promise<CallResult>((resolve, reject) => {
      this.#call = { id, resolve, reject };
      this.#channel.send({ ...body, id });
    });
  }

  /** Stops the thread at once, rejecting its pending call (if any) with `reason`. */
  async terminate(reason: Error): Promise<void> {
    this.#fail(reason);
    await this.#channel.kill();
  }

  #onExit(exitCode: number, onExit: ExitCallback): void {
    this.#exited = true;
    const crashedModel = this.#loadingModel;
    const cause = new Error(`engine exited with code ${exitCode}`);
    this.#fail(crashedModel ? modelCrashedError(crashedModel, exitCode) : this.#crashed(cause));
    onExit(this, exitCode, crashedModel);
  }

  #onMessage(message: EngineMessage): void {
    if ('kind' in message) {
      if (message.kind === 'model-loading') this.#loadingModel = message.digest;
      else if (message.kind === 'model-loaded') this.#loadingModel = null;
      else if (message.kind === 'ready') this.#resolveReady(message);
      else if (message.kind === 'init-failed') this.#rejectReady(this.#initFailed(message.error));
      return;
    }
    const call = this.#call;
    if (!call || call.id !== message.id) return;
    this.#call = null;
    if (message.ok) return call.resolve(message.result);
    // An error that is not ttsq's (a WASM abort, a bug) may have left the engine unusable.
    if (message.error.code === null) this.#suspect = true;
    call.reject(rebuildError(message.error));
  }

  #fail(error: Error): void {
    this.#rejectReady(error);
    const call = this.#call;
    this.#call = null;
    call?.reject(error);
  }

  #crashed(cause: Error): TransientTaskError {
    const message = `Engine thread crashed: ${cause.message}`;
    return new TransientTaskError('TTSQ_ENGINE_CRASHED', message, { cause });
  }

  #initFailed(error: SerializedEngineError): TransientTaskError {
    const message = `Engine failed to start: ${error.name}: ${error.message}`;
    return new TransientTaskError('TTSQ_ENGINE_INIT_FAILED', message);
  }
}

/** The model a dying engine was loading: retrying would only kill the engine again. */
function modelCrashedError(digest: string, exitCode: number): PermanentTaskError {
  const message = `the engine process exited with code ${exitCode} while loading model ${digest.slice(0, 12)}: the model is malformed`;
  return new PermanentTaskError('TTSQ_MODEL_CRASHED', message);
}

/**
 * Runs one engine in a worker thread (or child process) for a worker process. Calls are queued
 * and run one at a time, in order. A call that times out or is aborted kills the thread; a fresh,
 * warmed-up thread replaces it (as it does one that crashed), so the next call finds a working
 * engine. A model that ends the engine process while loading is quarantined: its voices are
 * listed with an error and its tasks fail permanently with `TTSQ_MODEL_CRASHED`.
 */
export class EngineHost {
  readonly #engine: string;
  readonly #isolation: EngineIsolation;
  readonly #settings: EngineSettings;
  readonly #quarantine: ModelQuarantine;
  /** Model digest of each voice id, as last listed. */
  #voiceModels = new Map<string, string>();
  readonly #logger: Logger | undefined;
  #thread: EngineThread | null = null;
  #version: string | null = null;
  #queueTail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: EngineHostOptions) {
    this.#engine = options.engine;
    this.#isolation = options.isolation ?? 'thread';
    this.#settings = options.settings ?? DEFAULT_ENGINE_SETTINGS;
    this.#quarantine = options.quarantine ?? new ModelQuarantine();
    this.#logger = options.logger?.child({ engine: options.engine });
  }

  /** Engine version (part of cache keys). @throws Error before `start()` resolved. */
  get version(): string {
    if (this.#version === null) throw new Error('EngineHost.start() has not completed');
    return this.#version;
  }

  /**
   * Spawns the engine thread and waits until the engine is loaded.
   * @throws TransientTaskError `TTSQ_ENGINE_INIT_FAILED` or `TTSQ_ENGINE_CRASHED`.
   */
  async start(): Promise<EngineReady> {
    const { ready } = await this.#readyThread();
    return { ...ready, voices: this.#noteVoices(ready.voices) };
  }

  /** The engine's voices, as its thread reports them now; quarantined models carry an error. */
  async voices(): Promise<VoiceInfo[]> {
    const result = await this.#enqueue({ kind: 'voices' }, { timeoutMs: VOICES_TIMEOUT_MS });
    return this.#noteVoices(result as VoiceInfo[]);
  }

  /**
   * Synthesizes off the main loop, after any calls queued before it.
   * @throws TransientTaskError `TTSQ_ENGINE_TIMEOUT` after `timeoutMs`, `TTSQ_ENGINE_CRASHED`
   * when the thread died, `TTSQ_ENGINE_FAILED` for an engine error that is not ttsq's.
   * @throws PermanentTaskError as the engine raised it (unknown voice), or `TTSQ_MODEL_CRASHED`
   * for a voice whose model ended the engine process while loading.
   * @throws when `signal` aborts, queued or running: its reason if that is a ttsq error,
   * otherwise TaskAbortedError `TTSQ_TASK_ABORTED`.
   */
  async synthesize(
    request: SynthesisRequest,
    options: EngineCallOptions,
  ): Promise<SynthesisResult> {
    this.#refuseQuarantined(request);
    const result = await this.#enqueue({ kind: 'synthesize', request }, options);
    return result as SynthesisResult;
  }

  /** Stops the thread; calls in flight or queued reject with `TTSQ_ENGINE_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    this.#thread = null;
    await thread?.terminate(this.#closedError());
  }

  #enqueue(body: EngineThreadCall, options: EngineCallOptions): Promise<CallResult> {
    assertTimeout(options.timeoutMs);
    const turn = this.#queueTail.then(() => this.#call(body, options));
    this.#queueTail = turn.catch(() => undefined);
    return options.signal ? rejectOnAbort(turn, options.signal) : turn;
  }

  async #call(body: EngineThreadCall, options: EngineCallOptions): Promise<CallResult> {
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    const { thread } = await this.#readyThread();
    const onStop = (error: Error): void => this.#replaceThread(thread, error);
    try {
      return await withDeadline(thread.request(body), options, onStop);
    } finally {
      if (thread.suspect) this.#replaceThread(thread, new Error('unexpected engine error'));
    }
  }

  /** The current thread once ready, spawning one if there is none or the last failed to start. */
  async #readyThread(): Promise<{ thread: EngineThread; ready: EngineReady }> {
    if (this.#closed) throw this.#closedError();
    if (!this.#thread || this.#thread.exited) this.#thread = this.#spawn();
    const thread = this.#thread;
    try {
      const ready = await thread.ready;
      this.#version = ready.version;
      return { thread, ready };
    } catch (error) {
      if (this.#thread === thread) this.#thread = null;
      void thread.terminate(toError(error));
      throw error;
    }
  }

  #spawn(): EngineThread {
    const data: EngineThreadData = { engine: this.#engine, settings: this.#settings };
    const onExit: ExitCallback = (thread, exitCode, crashedModel) => {
      if (crashedModel) this.#quarantineModel(crashedModel, exitCode);
      this.#onThreadExit(thread, exitCode);
    };
    return new EngineThread(data, this.#isolation, onExit, this.#logger);
  }

  #quarantineModel(digest: string, exitCode: number): void {
    const reason = modelCrashedError(digest, exitCode).message;
    this.#quarantine.add(digest, reason);
    this.#logger?.error({ modelDigest: digest, exitCode }, 'model crashed the engine; quarantined');
  }

  /** Records each voice's model and marks the voices of quarantined models. */
  #noteVoices(voices: VoiceInfo[]): VoiceInfo[] {
    this.#voiceModels = new Map();
    return voices.map((voice) => {
      if (voice.modelDigest !== undefined) this.#voiceModels.set(voice.id, voice.modelDigest);
      const reason = this.#quarantine.reasonFor(voice.modelDigest);
      return reason === undefined
        ? voice
        : { ...voice, error: { code: 'TTSQ_MODEL_CRASHED', message: reason } };
    });
  }

  #refuseQuarantined(request: SynthesisRequest): void {
    const voiceId = `${request.voicePrefix ?? this.#engine}:${request.voice}`;
    const reason = this.#quarantine.reasonFor(this.#voiceModels.get(voiceId));
    if (reason !== undefined) throw new PermanentTaskError('TTSQ_MODEL_CRASHED', reason);
  }

  /** Kills a thread that hung or was aborted and starts warming its replacement right away. */
  #replaceThread(thread: EngineThread, reason: Error): void {
    if (this.#thread !== thread || this.#closed) return;
    this.#thread = this.#spawn();
    this.#logger?.warn({ err: reason }, 'engine thread replaced');
    thread.terminate(reason).catch((error: unknown) => {
      this.#logger?.error({ err: toError(error) }, 'engine thread terminate failed');
    });
  }

  /** A thread that died on its own is replaced; one that never became ready is retried lazily. */
  #onThreadExit(thread: EngineThread, exitCode: number): void {
    if (this.#thread !== thread || this.#closed) return;
    this.#logger?.warn({ exitCode }, 'engine thread exited');
    this.#thread = null;
    void thread.ready.then(
      () => {
        if (this.#thread === null && !this.#closed) this.#thread = this.#spawn();
      },
      () => undefined,
    );
  }

  #closedError(): TransientTaskError {
    return new TransientTaskError('TTSQ_ENGINE_CLOSED', 'Engine host is closed');
  }
}

/** Rejects as soon as `signal` aborts, even while the call still waits for its turn. */
function rejectOnAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Settles with `work`, unless `timeoutMs` passes or `signal` aborts first: then it rejects and
 * calls `onStop` with the error, which kills the thread still running the work.
 */
function withDeadline<T>(
  work: Promise<T>,
  options: EngineCallOptions,
  onStop: (error: Error) => void,
): Promise<T> {
  const { signal, timeoutMs } = options;
  return new Promise<T>((resolve, reject) => {
    const stop = (error: Error): void => {
      cleanup();
      reject(error);
      onStop(error);
    };
    const onAbort = (): void => stop(abortedError(signal?.reason));
    const timer = setTimeout(() => stop(timeoutError(timeoutMs)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(toError(error));
      },
    );
  });
}

function timeoutError(timeoutMs: number): TransientTaskError {
  const message = `Synthesis took longer than ${timeoutMs} ms and was stopped`;
  return new TransientTaskError('TTSQ_ENGINE_TIMEOUT', message);
}
