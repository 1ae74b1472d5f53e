// The job store contract: job records and their finished segments, shared by the API (which
// creates and reads jobs) and the workers (which record progress and results).

import type { Page, TaskInput } from '../queue/backend.js';
import type { JobAudio, JobRecord, JobStatus, SegmentResult } from './types.js';

/** A filter and page of `JobStore.list`, newest first. */
export interface JobQuery {
  ownerId: string;
  status?: JobStatus;
  limit: number;
  cursor?: string;
}

/** How a job ends. Only a queued or running job can end. */
export type JobOutcome =
  | { status: 'succeeded'; audio: JobAudio }
  | { status: 'failed'; error: { code: string; message: string } }
  | { status: 'canceled' };

export interface JobStore {
  /**
   * Stores the job and enqueues its segment tasks as one durable unit: when the promise resolves
   * both are stored; when it rejects, neither is.
   */
  create(job: JobRecord, tasks: readonly TaskInput[]): Promise<void>;

  get(jobId: string): Promise<JobRecord | null>;

  list(query: JobQuery): Promise<Page<JobRecord>>;

  /**
   * Counts a segment attempt; a queued job becomes running and gets its `startedAt`. False
   * (nothing counted) when the job is unknown or has ended, so the attempt can be skipped.
   */
  noteAttemptStarted(jobId: string, atMs: number): Promise<boolean>;

  /**
   * Records a finished segment (idempotent: a rerun of the same segment counts once). `allDone`
   * is true when every segment is recorded and the job is still queued or running; two racing
   * workers may both see it, so what follows must be idempotent too.
   */
  recordSegment(jobId: string, result: SegmentResult): Promise<{ allDone: boolean }>;

  /** The job's recorded segments in index order. */
  segments(jobId: string): Promise<SegmentResult[]>;

  /** Ends a queued or running job. False when the job is unknown or already ended. */
  finish(jobId: string, outcome: JobOutcome, atMs: number): Promise<boolean>;

  /** Puts a failed job back to queued or running (before its tasks are redriven). */
  reopen(jobId: string): Promise<boolean>;
}
