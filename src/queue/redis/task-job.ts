// How a ttsq task is written into a BullMQ job: its data, and its error in `failedReason`
// (`CODE: message`, readable in any BullMQ dashboard).

import type { Job } from 'bullmq';
import type { TaskError } from '../backend.js';
import { TASK_STALLED_CODE } from '../queue-options.js';

/** The data of the BullMQ job that carries one task. */
export interface TaskJobData {
  groupId: string;
  payload: unknown;
  /** When the task was first runnable, epoch ms. */
  runAt: number;
}

/** Error code of a task canceled while it ran (found on a BullMQ job only mid-cancel). */
export const CANCELED_CODE = 'TTSQ_TASK_CANCELED';

/** The reason BullMQ gives a job that stalled more than `maxStalledCount` times. */
const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';
const CODED_REASON = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/;

/** A transient failure handed to BullMQ's `moveToFailed`: carries the retry delay we computed. */
export class TaskFailure extends Error {
  readonly retryDelayMs: number;

  constructor(reason: string, retryDelayMs: number) {
    super(reason);
    this.name = 'TaskFailure';
    this.retryDelayMs = retryDelayMs;
  }
}

/** The `failedReason` stored for an error. */
export function failureReason(error: TaskError): string {
  return `${error.code}: ${error.message}`;
}

/** The task error recorded on a job (a deferred stall failure first), or null. */
export function errorOf(job: Job<TaskJobData>): TaskError | null {
  const reason = job.deferredFailure ?? job.failedReason;
  if (reason === undefined || reason === null || reason === '') return null;
  if (reason === BULLMQ_STALLED_REASON) {
    const message = `lease expired ${job.stalledCounter} times, more than tolerated`;
    return { code: TASK_STALLED_CODE, message };
  }
  const match = CODED_REASON.exec(reason);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return { code: match[1], message: match[2] };
  }
  return { code: 'TTSQ_TASK_FAILED', message: reason };
}

/**
 * Prefix of the BullMQ job id of a task. A bare task id could name one of BullMQ's own keys
 * (`delayed`, `wait`, `meta` …) or be an integer, which BullMQ refuses as a custom id.
 */
const JOB_ID_PREFIX = 't.';

/** The BullMQ job id of a task. */
export function jobIdOf(taskId: string): string {
  return `${JOB_ID_PREFIX}${taskId}`;
}

/** The task id of a BullMQ job id. */
export function taskIdOf(jobId: string): string {
  return jobId.startsWith(JOB_ID_PREFIX) ? jobId.slice(JOB_ID_PREFIX.length) : jobId;
}

/** The worker id inside a lock token `uuid@workerId`. */
export function ownerOfToken(token: string): string {
  const at = token.indexOf('@');
  return at === -1 ? 'unknown' : token.slice(at + 1);
}
