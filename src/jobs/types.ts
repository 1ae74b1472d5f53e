// Jobs as the client sees them, and the payload of the segment tasks the queue carries.

/** A job's state. `expired` (audio past retention) arrives with retention. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'canceled',
];

/** Output container of the assembled audio. */
export type AudioFormat = 'wav';

/** What the client asked for, after defaults were applied. */
export interface JobRequest {
  text: string;
  voice: string;
  format: AudioFormat;
  /** Speaking rate multiplier, 1 = normal. */
  speed: number;
  /** Queue priority: lower runs first (1 … 1000), default 100. */
  priority: number;
}

/** The assembled audio of a succeeded job. */
export interface JobAudio {
  key: string;
  format: AudioFormat;
  sampleRateHz: number;
  durationMs: number;
  sizeBytes: number;
}

/** A job's stored record. Times are epoch ms. */
export interface JobRecord {
  id: string;
  /** The tenant owning the job; `default` until API keys exist. */
  ownerId: string;
  status: JobStatus;
  request: JobRequest;
  segmentCount: number;
  segmentsDone: number;
  /** Segment attempts started so far, retries included. */
  attempts: number;
  error: { code: string; message: string } | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  audio: JobAudio | null;
}

/** The payload of one segment task: everything a worker needs without reading the job. */
export interface SegmentTaskPayload {
  jobId: string;
  index: number;
  /** Segments of the whole job, so the last one can be assembled without reading the job. */
  segmentCount: number;
  text: string;
  voice: string;
  speed: number;
}

/** A finished segment's result as recorded on the job. */
export interface SegmentResult {
  index: number;
  audioKey: string;
  sampleRateHz: number;
  sampleCount: number;
  /** Hash of everything that changes the audio (engine version, voice, text, speed). */
  cacheKey: string;
}
