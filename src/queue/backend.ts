// The queue contract every backend implements (SQLite now, Redis later) and that the
// conformance suite in test/queue-conformance.ts checks. Vocabulary follows DESIGN.md.

/** Where a task is in its life. `waiting` includes tasks delayed by backoff (`runAt` ahead). */
export type TaskState = 'waiting' | 'active' | 'completed' | 'dead' | 'canceled';

/** A task to put on the queue. */
export interface TaskInput {
  /** Caller-chosen id; enqueueing an id that exists is a no-op (deduplication). */
  id: string;
  /** The group the task belongs to (a job id): lets a caller list or cancel a job's tasks. */
  groupId: string;
  /** Opaque JSON-serializable payload handed to the worker. */
  payload: unknown;
  /** Lower runs first, like BullMQ: 1 (most urgent) … 2_097_152. Default 100. */
  priority?: number;
  /** Attempts before the task is dead-lettered. Default: the backend's `maxAttempts`. */
  maxAttempts?: number;
  /** Earliest time to run, epoch ms. Default: now. */
  runAt?: number;
}

/** The queue's record of one task. Times are epoch milliseconds. */
export interface TaskRecord {
  id: string;
  groupId: string;
  payload: unknown;
  priority: number;
  state: TaskState;
  /**
   * Attempts that a worker reported failed. A lease that expired is not an attempt: it counts
   * in `stalledCount`, bounded by `maxStalledCount` (as in BullMQ, where a stall is the worker's
   * fault, not the task's).
   */
  attemptsMade: number;
  maxAttempts: number;
  /** How many times a lease on this task expired. */
  stalledCount: number;
  runAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastError: TaskError | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** Why an attempt failed, as stored on the task. */
export interface TaskError {
  code: string;
  message: string;
}

/** Proof of a claim: every lease operation presents it; a stale lease is refused. */
export interface Lease {
  taskId: string;
  token: string;
  workerId: string;
  expiresAt: number;
}

/**
 * A task handed to a worker, with the lease it holds and the run it starts (1-based:
 * `attemptsMade + stalledCount + 1`; a released lease does not count).
 */
export interface ClaimedTask {
  task: TaskRecord;
  lease: Lease;
  attempt: number;
}

/** A failure reported by a worker. `permanent` skips retries and dead-letters at once. */
export interface FailureReport extends TaskError {
  permanent: boolean;
}

/** What `fail` did with the task. `lost`: the lease was no longer held (expired or canceled). */
export type FailOutcome =
  | { kind: 'retrying'; runAt: number; attemptsMade: number }
  | { kind: 'dead'; attemptsMade: number }
  | { kind: 'lost' };

/**
 * Tasks whose leases had expired, found by one sweep. A backend may detect an expiry up to two
 * sweep intervals late (BullMQ marks active tasks on one check and takes back, on the next, those
 * whose lease is gone); sweeps from many processes may be throttled to one per interval.
 */
export interface ExpiredLeaseSweep {
  /** Handed out again (at-least-once). */
  requeued: TaskRecord[];
  /**
   * Expired more than `maxStalledCount` times: dead with code TTSQ_TASK_STALLED. They never run
   * again; a backend may move them to its dead-letter list when they are next dequeued.
   */
  dead: TaskRecord[];
}

/** Number of tasks per state, and the age of the oldest runnable waiting task. */
export interface QueueCounts extends Record<TaskState, number> {
  /** Milliseconds the oldest runnable waiting task has waited; 0 when none waits. */
  oldestWaitingAgeMs: number;
}

/** A page of results with the cursor of the next page, or null at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Behaviour settings shared by every backend. Durations in ms. */
export interface QueueOptions {
  /** Default attempts per task. */
  maxAttempts: number;
  /** Lease expiries tolerated before a task is dead-lettered. */
  maxStalledCount: number;
  /** Retry delay before attempt 2; doubled each further attempt. */
  backoffBaseMs: number;
  /** Upper bound of a retry delay. */
  backoffMaxMs: number;
}

/** Events a backend emits to listeners in its own process. */
export interface QueueEvents {
  'task:enqueued': { taskIds: string[] };
  'task:claimed': { task: TaskRecord; workerId: string };
  'task:completed': { taskId: string };
  'task:retrying': { taskId: string; runAt: number; error: TaskError };
  'task:dead': { task: TaskRecord };
  'task:stalled': { task: TaskRecord };
  'task:canceled': { taskIds: string[] };
}

export type QueueEventName = keyof QueueEvents;
export type QueueListener<E extends QueueEventName> = (event: QueueEvents[E]) => void;

/**
 * The queue contract. Every method is safe to call from several processes at once. Claims are
 * exclusive: a task is held by at most one unexpired lease.
 */
export interface QueueBackend {
  /** Stores tasks atomically (all or none); ids that exist are skipped. Returns ids inserted. */
  enqueue(tasks: readonly TaskInput[]): Promise<string[]>;

  /**
   * Claims up to `limit` (default 1) runnable tasks, most urgent first (priority, then runAt,
   * then enqueue order), each leased to `workerId` for `leaseDurationMs`.
   */
  claim(workerId: string, leaseDurationMs: number, limit?: number): Promise<ClaimedTask[]>;

  /** Extends a lease. False when the lease is no longer held (expired and reclaimed, canceled). */
  renew(lease: Lease, leaseDurationMs: number): Promise<boolean>;

  /** Marks a leased task completed. False when the lease is no longer held. */
  complete(lease: Lease): Promise<boolean>;

  /**
   * Records a failed attempt: retried after exponential backoff with jitter, or dead-lettered
   * when permanent or out of attempts.
   */
  fail(lease: Lease, failure: FailureReport): Promise<FailOutcome>;

  /** Gives a leased task back without counting an attempt (a draining worker). */
  release(lease: Lease): Promise<boolean>;

  /** Requeues or dead-letters tasks whose lease expired. Any process may call it. */
  sweepExpiredLeases(): Promise<ExpiredLeaseSweep>;

  /** Cancels tasks that are waiting or active; active leases stop being renewable. */
  cancel(taskIds: readonly string[]): Promise<string[]>;

  /** Reads tasks by id; unknown ids are absent from the result. */
  getTasks(taskIds: readonly string[]): Promise<TaskRecord[]>;

  /** Task counts per state. */
  counts(): Promise<QueueCounts>;

  /** Dead-lettered tasks, newest first. */
  listDead(limit: number, cursor?: string): Promise<Page<TaskRecord>>;

  /**
   * Puts a dead or canceled task back to waiting with a fresh attempt budget. False when the
   * task is in another state or unknown.
   */
  redrive(taskId: string): Promise<boolean>;

  /** Cheap check that the backend answers (for readiness probes). */
  ping(): Promise<void>;

  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): void;
  off<E extends QueueEventName>(event: E, listener: QueueListener<E>): void;

  close(): Promise<void>;
}
