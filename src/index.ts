// The public surface of the ttsq package, for embedding the service or writing a backend or
// engine against its contracts.

export { loadConfig, configToEnv, SETTINGS, type Config } from './config.js';
export {
  TtsqError,
  ValidationError,
  NotFoundError,
  ConflictError,
  UnavailableError,
  PermanentTaskError,
  TransientTaskError,
  TaskAbortedError,
  ConfigError,
} from './errors.js';
export type {
  QueueBackend,
  QueueOptions,
  TaskInput,
  TaskRecord,
  TaskState,
  ClaimedTask,
  Lease,
  FailureReport,
  FailOutcome,
  QueueCounts,
} from './queue/backend.js';
export { SqliteQueue } from './queue/sqlite/sqlite-queue.js';
export type { JobStore, JobQuery, JobOutcome } from './jobs/job-store.js';
export type { JobRecord, JobStatus, JobRequest, JobAudio } from './jobs/types.js';
export { JobService, type JobSubmission } from './jobs/job-service.js';
export { splitIntoSegments } from './jobs/segmenter.js';
export { segmentCacheKey } from './jobs/cache-key.js';
export type { TtsEngine, VoiceInfo, SynthesisRequest, SynthesisResult } from './engines/engine.js';
export { EngineHost } from './engines/engine-host.js';
export { EspeakEngine } from './engines/espeak-engine.js';
export type { AudioStore } from './audio/store.js';
export { FsAudioStore } from './audio/fs-store.js';
export { encodeWav, decodeWav } from './audio/wav.js';
export type { Backend } from './store/backend.js';
export { openBackend } from './store/open-backend.js';
export { openEmbeddedBackend } from './store/embedded.js';
export { buildApiServer } from './http/server.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
export { Supervisor } from './worker/supervisor.js';
