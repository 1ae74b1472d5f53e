// The distributed queue backend: `QueueBackend` on BullMQ. Tasks are BullMQ jobs; a lease is a
// BullMQ lock (its token), renewal is `extendLock`, the sweep is BullMQ's stalled-jobs checker,
// retries are BullMQ attempts with our backoff, the dead-letter list is BullMQ's failed set.

import { randomUUID } from 'node:crypto';
import { Job, Queue, UnrecoverableError, Worker, type JobsOptions, type JobState } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type {
  ClaimedTask,
  ExpiredLeaseSweep,
  FailOutcome,
  FailureReport,
  Lease,
  Page,
  QueueBackend,
  QueueCounts,
  QueueEventName,
  QueueListener,
  QueueOptions,
  TaskInput,
  TaskRecord,
  TaskState,
} from '../backend.js';
import { backoffDelayMs } from '../backoff.js';
import { QueueEventEmitter } from '../queue-events.js';
import {
  compileQueueOptions,
  requirePositiveInteger,
  requirePositiveNumber,
  validateTask,
  type ValidTask,
} from '../queue-options.js';
import { readNewestFirst } from '../../store/redis/sorted-page.js';
import {
  CANCELED_CODE,
  errorOf,
  failureReason,
  jobIdOf,
  ownerOfToken,
  taskIdOf,
  TaskFailure,
  type TaskJobData,
} from './task-job.js';

/** Name of the BullMQ queue that carries ttsq tasks, under the configured prefix. */
export const TASK_QUEUE_NAME = 'tasks';

/** Settings of `RedisQueue`: the shared queue options plus BullMQ's lock and stall settings. */
export interface RedisQueueOptions extends QueueOptions {
  /** Prefix of every key (BullMQ's `prefix`), so deployments can share one Redis. */
  prefix: string;
  /** Lock duration given to claims by default (BullMQ `lockDuration`). */
  leaseDurationMs: number;
  /** Smallest time between two stalled-job checks, across all processes (BullMQ). */
  stalledIntervalMs: number;
  /** How long completed tasks stay readable before BullMQ removes them. Default 1 day. */
  completedRetentionSeconds?: number;
  /** Receives errors thrown by event listeners; by default they are swallowed. */
  onListenerError?: (error: Error, event: QueueEventName) => void;
  /** Receives connection errors BullMQ reports in the background. */
  onBackgroundError?: (error: Error) => void;
}

/** The connections a RedisQueue uses; it does not close them. */
export interface RedisQueueClients {
  /** Fails fast while Redis is away; BullMQ's Queue shares it. */
  commands: Redis;
  /** Waits and reconnects; BullMQ's Worker (claims, failures, sweeps) runs on it. */
  worker: Redis;
}

const BULLMQ_WAITING_STATES = new Set<JobState | 'unknown'>([
  'waiting',
  'prioritized',
  'delayed',
  'waiting-children',
]);
const DEFAULT_COMPLETED_RETENTION_SECONDS = 86_400;
/** BullMQ errors that mean "this lease is no longer held" (see BullMQ's finishedErrors). */
const LEASE_LOST = /^(Missing key|Missing lock|Lock mismatch|Job .* is not in the)/;

/**
 * `QueueBackend` on BullMQ. Safe to use from any number of processes sharing one Redis. A claim
 * is `Worker.getNextJob` with a token of our own (`uuid@workerId`), so the lock's value tells
 * who holds a lease. Canceled tasks leave BullMQ and are kept as tombstones beside it.
 *
 * @throws TypeError when an option is out of range (the message names it).
 */
export class RedisQueue implements QueueBackend {
  readonly #clients: RedisQueueClients;
  readonly #options: Readonly<QueueOptions>;
  readonly #settings: RedisQueueOptions;
  readonly #events: QueueEventEmitter;
  readonly #queue: Queue;
  readonly #keys: { canceled: string; waitingSince: string };
  #worker: Worker | undefined;

  constructor(clients: RedisQueueClients, options: RedisQueueOptions) {
    this.#clients = clients;
    this.#options = compileQueueOptions(options);
    requirePositiveNumber('leaseDurationMs', options.leaseDurationMs);
    requirePositiveNumber('stalledIntervalMs', options.stalledIntervalMs);
    this.#settings = options;
    this.#events = new QueueEventEmitter(options.onListenerError);
    this.#queue = new Queue(TASK_QUEUE_NAME, {
      connection: clients.commands,
      prefix: options.prefix,
    });
    this.#queue.on('error', (error) => options.onBackgroundError?.(error));
    this.#keys = {
      canceled: `${options.prefix}:${TASK_QUEUE_NAME}-ttsq:canceled`,
      waitingSince: `${options.prefix}:${TASK_QUEUE_NAME}-ttsq:waiting-since`,
    };
  }

  /** Resolves once BullMQ loaded its scripts on the commands connection. */
  waitUntilReady(): Promise<void> {
    return this.#queue.waitUntilReady();
  }

  async enqueue(tasks: readonly TaskInput[]): Promise<string[]> {
    const multi = await this.transaction();
    const inserted = await this.enqueueInTransaction(multi, tasks);
    await execOrThrow(multi);
    this.announceEnqueued(inserted);
    return inserted;
  }

  /**
   * Starts a MULTI on the connection BullMQ loaded its scripts on, so a caller can store its own
   * keys and tasks in one atomic, durable unit (the job store does, for a job and its tasks).
   */
  async transaction(): Promise<ChainableCommander> {
    await this.#queue.waitUntilReady();
    const client = await this.#queue.backend.client;
    return client.multi() as unknown as ChainableCommander;
  }

  /**
   * Adds tasks to `multi`; ids that exist (or were canceled) are skipped. Returns the ids that
   * will be inserted when `multi` runs. Call `announceEnqueued` after it ran.
   * @throws TypeError when a task is invalid; nothing was added to `multi` then.
   */
  async enqueueInTransaction(
    multi: ChainableCommander,
    tasks: readonly TaskInput[],
  ): Promise<string[]> {
    const now = Date.now();
    const valid = uniqueById(
      tasks.map((task) => validateTask(task, now, this.#options.maxAttempts)),
    );
    const existing = await this.#existingIds(valid.map((task) => task.id));
    const fresh = valid.filter((task) => !existing.has(task.id));
    for (const task of fresh) this.#addTask(multi, task, now);
    return fresh.map((task) => task.id);
  }

  /** Emits `task:enqueued` for tasks stored by a transaction. */
  announceEnqueued(taskIds: string[]): void {
    if (taskIds.length > 0) this.#events.emit('task:enqueued', { taskIds });
  }

  async claim(workerId: string, leaseDurationMs: number, limit = 1): Promise<ClaimedTask[]> {
    requirePositiveInteger('limit', limit);
    requirePositiveNumber('leaseDurationMs', leaseDurationMs);
    const worker = await this.#leaseWorker();
    const claimed: ClaimedTask[] = [];
    while (claimed.length < limit) {
      const token = `${randomUUID()}@${workerId}`;
      const job = (await worker.getNextJob(token, { block: false })) as
        Job<TaskJobData> | undefined;
      if (job === undefined) break;
      const task = await this.#activate(job, token, workerId, leaseDurationMs);
      if (task !== null) claimed.push(task);
    }
    if (claimed.length > 0) {
      await this.#clients.commands.zrem(this.#keys.waitingSince, ...claimed.map((c) => c.task.id));
    }
    for (const { task } of claimed) this.#events.emit('task:claimed', { task, workerId });
    return claimed;
  }

  async renew(lease: Lease, leaseDurationMs: number): Promise<boolean> {
    requirePositiveNumber('leaseDurationMs', leaseDurationMs);
    const extended = await this.#queue.backend.extendLock(
      jobIdOf(lease.taskId),
      lease.token,
      leaseDurationMs,
    );
    return extended === 1;
  }

  async complete(lease: Lease): Promise<boolean> {
    const job = await this.#job(lease.taskId);
    if (job === undefined) return false;
    const done = await leaseHeld(() => job.moveToCompleted(null, lease.token, false));
    if (done) this.#events.emit('task:completed', { taskId: lease.taskId });
    return done;
  }

  async fail(lease: Lease, failure: FailureReport): Promise<FailOutcome> {
    const worker = await this.#leaseWorker();
    const job = await Job.fromId<TaskJobData>(worker, jobIdOf(lease.taskId));
    if (job === undefined) return { kind: 'lost' };

    const attemptsMade = job.attemptsMade + 1;
    const dies = failure.permanent || attemptsMade >= (job.opts.attempts ?? 1);
    const { backoffBaseMs, backoffMaxMs } = this.#options;
    const delayMs = dies ? 0 : backoffDelayMs(attemptsMade, backoffBaseMs, backoffMaxMs);
    const reason = failureReason(failure);
    const error = dies ? new UnrecoverableError(reason) : new TaskFailure(reason, delayMs);
    const runAt = Date.now() + delayMs;
    if (!(await leaseHeld(() => job.moveToFailed(error, lease.token, false))))
      return { kind: 'lost' };

    if (dies) {
      await this.#clients.commands.zrem(this.#keys.waitingSince, lease.taskId);
      await this.#announceDead([lease.taskId]);
      return { kind: 'dead', attemptsMade };
    }
    await this.#clients.commands.zadd(this.#keys.waitingSince, runAt, lease.taskId);
    const lastError = { code: failure.code, message: failure.message };
    this.#events.emit('task:retrying', { taskId: lease.taskId, runAt, error: lastError });
    return { kind: 'retrying', runAt, attemptsMade };
  }

  async release(lease: Lease): Promise<boolean> {
    const released = await leaseHeld(() =>
      this.#queue.backend.moveJobFromActiveToWait(jobIdOf(lease.taskId), lease.token),
    );
    if (released)
      await this.#clients.commands.zadd(this.#keys.waitingSince, Date.now(), lease.taskId);
    return released;
  }

  async sweepExpiredLeases(): Promise<ExpiredLeaseSweep> {
    const worker = await this.#leaseWorker();
    const stalledIds = await worker.backend.moveStalledJobsToWait();
    if (stalledIds.length === 0) return { requeued: [], dead: [] };

    const records = await this.getTasks(stalledIds.map(taskIdOf));
    const sweep: ExpiredLeaseSweep = {
      requeued: records.filter((task) => task.state !== 'dead'),
      dead: records.filter((task) => task.state === 'dead'),
    };
    const now = Date.now();
    const requeuedIds = sweep.requeued.flatMap((task) => [now, task.id]);
    if (requeuedIds.length > 0)
      await this.#clients.commands.zadd(this.#keys.waitingSince, ...requeuedIds);
    for (const task of records) this.#events.emit('task:stalled', { task });
    for (const task of sweep.dead) this.#events.emit('task:dead', { task });
    return sweep;
  }

  async cancel(taskIds: readonly string[]): Promise<string[]> {
    const canceled: string[] = [];
    for (const taskId of new Set(taskIds)) {
      if (await this.#cancelOne(taskId)) canceled.push(taskId);
    }
    if (canceled.length > 0) this.#events.emit('task:canceled', { taskIds: canceled });
    return canceled;
  }

  async getTasks(taskIds: readonly string[]): Promise<TaskRecord[]> {
    const unique = [...new Set(taskIds)];
    const records = await Promise.all(unique.map((taskId) => this.#readTask(taskId)));
    return records.filter((record): record is TaskRecord => record !== null);
  }

  async counts(): Promise<QueueCounts> {
    const counts = await this.#queue.getJobCounts(
      'wait',
      'prioritized',
      'delayed',
      'active',
      'completed',
      'failed',
    );
    const waiting = ['wait', 'prioritized', 'delayed'].reduce(
      (sum, state) => sum + (counts[state] ?? 0),
      0,
    );
    return {
      waiting,
      active: counts['active'] ?? 0,
      completed: counts['completed'] ?? 0,
      dead: counts['failed'] ?? 0,
      canceled: await this.#clients.commands.hlen(this.#keys.canceled),
      oldestWaitingAgeMs: await this.#oldestWaitingAgeMs(Date.now()),
    };
  }

  /** @throws ValidationError TTSQ_CURSOR_INVALID when `cursor` was not returned by this method. */
  async listDead(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    requirePositiveInteger('limit', limit);
    const failedKey = this.#queue.keys.failed ?? this.#queue.toKey('failed');
    const page = await readNewestFirst(this.#clients.commands, failedKey, limit, cursor);
    const records = await this.getTasks(page.items.map(taskIdOf));
    return { items: records.filter((task) => task.state === 'dead'), nextCursor: page.nextCursor };
  }

  async redrive(taskId: string): Promise<boolean> {
    const job = await this.#job(taskId);
    if (job === undefined) return this.#redriveCanceled(taskId);
    const state = await job.getState();
    const doomed = BULLMQ_WAITING_STATES.has(state) && job.deferredFailure !== undefined;
    if (state !== 'failed' && !doomed) return false;

    const jobKey = this.#queue.toKey(jobIdOf(taskId));
    await this.#clients.commands.multi().hset(jobKey, 'stc', 0).hdel(jobKey, 'defa').exec();
    if (state === 'failed')
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await this.#clients.commands
      .multi()
      .hdel(this.#keys.canceled, taskId)
      .zadd(this.#keys.waitingSince, Date.now(), taskId)
      .exec();
    return true;
  }

  async ping(): Promise<void> {
    await this.#clients.commands.ping();
  }

  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    this.#events.on(event, listener);
  }

  off<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    this.#events.off(event, listener);
  }

  /** Closes BullMQ's queue and worker; the connections stay open: whoever opened them closes them. */
  async close(): Promise<void> {
    this.#events.clear();
    await this.#worker?.close(true);
    await this.#queue.close();
  }

  /** The BullMQ worker used for leases only: it never runs a processor of its own. */
  async #leaseWorker(): Promise<Worker> {
    if (this.#worker === undefined) {
      const worker = new Worker(TASK_QUEUE_NAME, null, {
        connection: this.#clients.worker,
        prefix: this.#settings.prefix,
        autorun: false,
        lockDuration: this.#settings.leaseDurationMs,
        stalledInterval: this.#settings.stalledIntervalMs,
        maxStalledCount: this.#options.maxStalledCount,
        settings: { backoffStrategy: retryDelayOf },
      });
      worker.on('error', (error) => this.#settings.onBackgroundError?.(error));
      this.#worker = worker;
    }
    await this.#worker.waitUntilReady();
    return this.#worker;
  }

  #addTask(multi: ChainableCommander, task: ValidTask, now: number): void {
    const data: TaskJobData = { groupId: task.groupId, payload: task.payload, runAt: task.runAt };
    const opts: JobsOptions = {
      jobId: jobIdOf(task.id),
      // Always set: BullMQ runs jobs without a priority before every prioritized one.
      priority: task.priority,
      attempts: task.maxAttempts,
      backoff: { type: 'ttsq' },
      removeOnComplete: {
        age: this.#settings.completedRetentionSeconds ?? DEFAULT_COMPLETED_RETENTION_SECONDS,
      },
      removeOnFail: false,
    };
    if (task.runAt > now) opts.delay = task.runAt - now;
    const job = new Job(this.#queue, 'task', data, opts, jobIdOf(task.id));
    void this.#queue.backend.addJobToTransaction(multi as never, job.asJSON(), jobIdOf(task.id));
    multi.zadd(this.#keys.waitingSince, task.runAt, task.id);
  }

  async #existingIds(taskIds: string[]): Promise<Set<string>> {
    if (taskIds.length === 0) return new Set();
    const pipeline = this.#clients.commands.pipeline();
    for (const taskId of taskIds) {
      pipeline.exists(this.#queue.toKey(jobIdOf(taskId)));
      pipeline.hexists(this.#keys.canceled, taskId);
    }
    const results = (await pipeline.exec()) ?? [];
    return new Set(
      taskIds.filter((_, index) => {
        const inQueue = results[index * 2]?.[1];
        const canceled = results[index * 2 + 1]?.[1];
        return inQueue === 1 || canceled === 1;
      }),
    );
  }

  /** Finishes a claim: a task doomed by too many stalls is dead-lettered instead of handed out. */
  async #activate(
    job: Job<TaskJobData>,
    token: string,
    workerId: string,
    leaseDurationMs: number,
  ): Promise<ClaimedTask | null> {
    if (job.deferredFailure !== undefined) {
      // Stalled too often: BullMQ defers the failure to the next dequeue, which is now.
      await leaseHeld(() => job.moveToFailed(new UnrecoverableError(job.deferredFailure), token));
      await this.#clients.commands.zrem(this.#keys.waitingSince, taskIdOf(String(job.id)));
      return null;
    }
    if (leaseDurationMs !== this.#settings.leaseDurationMs) {
      await job.extendLock(token, leaseDurationMs);
    }
    const expiresAt = Date.now() + leaseDurationMs;
    const task = toTaskRecord(job, 'active', { owner: workerId, expiresAt });
    const attempt = job.attemptsMade + job.stalledCounter + 1;
    return { task, lease: { taskId: task.id, token, workerId, expiresAt }, attempt };
  }

  async #announceDead(taskIds: string[]): Promise<void> {
    for (const task of await this.getTasks(taskIds)) this.#events.emit('task:dead', { task });
  }

  async #cancelOne(taskId: string): Promise<boolean> {
    const job = await this.#job(taskId);
    if (job === undefined) return false;
    const state = await job.getState();
    if (BULLMQ_WAITING_STATES.has(state) && job.deferredFailure === undefined) {
      await this.#storeTombstone(job);
      if ((await this.#queue.remove(jobIdOf(taskId))) === 1) return true;
    }
    return this.#cancelActive(taskId);
  }

  /** Fails the running attempt for good with the lock's own token, then removes the job. */
  async #cancelActive(taskId: string): Promise<boolean> {
    const job = await this.#job(taskId);
    const token = await this.#clients.commands.get(this.#lockKey(taskId));
    if (job === undefined || token === null) return this.#dropTombstone(taskId);

    const reason = failureReason({ code: CANCELED_CODE, message: 'task canceled' });
    const failed = await leaseHeld(() => job.moveToFailed(new UnrecoverableError(reason), token));
    if (!failed) return this.#dropTombstone(taskId);
    await this.#storeTombstone(job);
    await this.#queue.remove(jobIdOf(taskId));
    return true;
  }

  async #dropTombstone(taskId: string): Promise<false> {
    await this.#clients.commands.hdel(this.#keys.canceled, taskId);
    return false;
  }

  async #storeTombstone(job: Job<TaskJobData>): Promise<void> {
    const now = Date.now();
    const record: TaskRecord = {
      ...toTaskRecord(job, 'canceled', null),
      lastError: null,
      updatedAt: now,
      finishedAt: now,
    };
    await this.#clients.commands
      .multi()
      .hset(this.#keys.canceled, record.id, JSON.stringify(record))
      .zrem(this.#keys.waitingSince, record.id)
      .exec();
  }

  /** Puts a canceled task back as a new BullMQ job with its first settings. */
  async #redriveCanceled(taskId: string): Promise<boolean> {
    const stored = await this.#clients.commands.hget(this.#keys.canceled, taskId);
    if (stored === null) return false;
    const record = JSON.parse(stored) as TaskRecord;
    const multi = await this.transaction();
    const input: TaskInput = {
      id: record.id,
      groupId: record.groupId,
      payload: record.payload,
      priority: record.priority,
      maxAttempts: record.maxAttempts,
    };
    multi.hdel(this.#keys.canceled, taskId);
    this.#addTask(multi, validateTask(input, Date.now(), this.#options.maxAttempts), Date.now());
    await execOrThrow(multi);
    return true;
  }

  async #readTask(taskId: string): Promise<TaskRecord | null> {
    const job = await this.#job(taskId);
    if (job === undefined) {
      const stored = await this.#clients.commands.hget(this.#keys.canceled, taskId);
      return stored === null ? null : (JSON.parse(stored) as TaskRecord);
    }
    const state = await job.getState();
    if (state === 'active') return toTaskRecord(job, 'active', await this.#leaseOf(taskId));
    if (state === 'completed') return toTaskRecord(job, 'completed', null);
    if (state === 'failed') {
      const canceled = errorOf(job)?.code === CANCELED_CODE;
      return toTaskRecord(job, canceled ? 'canceled' : 'dead', null);
    }
    if (!BULLMQ_WAITING_STATES.has(state)) return null;
    return toTaskRecord(job, job.deferredFailure === undefined ? 'waiting' : 'dead', null);
  }

  async #leaseOf(taskId: string): Promise<{ owner: string; expiresAt: number } | null> {
    const key = this.#lockKey(taskId);
    const [token, ttlMs] = await Promise.all([
      this.#clients.commands.get(key),
      this.#clients.commands.pttl(key),
    ]);
    if (token === null) return null;
    return { owner: ownerOfToken(token), expiresAt: Date.now() + Math.max(0, ttlMs) };
  }

  /**
   * Age of the oldest runnable waiting task, from an index of when each task became runnable.
   * Entries left behind by a crashed process are checked against BullMQ and dropped.
   */
  async #oldestWaitingAgeMs(now: number): Promise<number> {
    for (let round = 0; round < 5; round += 1) {
      const head = await this.#clients.commands.zrangebyscore(
        this.#keys.waitingSince,
        '-inf',
        now,
        'WITHSCORES',
        'LIMIT',
        0,
        1,
      );
      const [taskId, score] = head;
      if (taskId === undefined || score === undefined) return 0;
      if (BULLMQ_WAITING_STATES.has(await this.#queue.getJobState(jobIdOf(taskId)))) {
        return Math.max(0, now - Number(score));
      }
      await this.#clients.commands.zrem(this.#keys.waitingSince, taskId);
    }
    return 0;
  }

  async #job(taskId: string): Promise<Job<TaskJobData> | undefined> {
    return Job.fromId<TaskJobData>(this.#queue, jobIdOf(taskId));
  }

  #lockKey(taskId: string): string {
    return `${this.#queue.toKey(jobIdOf(taskId))}:lock`;
  }
}

/** BullMQ's backoff hook: the delay our `fail` computed and carried on the error. */
function retryDelayOf(_attemptsMade: number, _type?: string, error?: Error): number {
  return error instanceof TaskFailure ? error.retryDelayMs : 0;
}

/**
 * Runs a BullMQ lease operation; resolves false when BullMQ refuses it because the lease is no
 * longer held (lock missing or another token, job gone or moved), and rethrows anything else.
 */
async function leaseHeld(operation: () => Promise<unknown>): Promise<boolean> {
  try {
    const result = await operation();
    return typeof result !== 'number' || result >= 0;
  } catch (error) {
    if (error instanceof Error && LEASE_LOST.test(error.message)) return false;
    throw error;
  }
}

async function execOrThrow(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('redis transaction was aborted');
  for (const [error] of results) if (error) throw error;
}

function uniqueById(tasks: ValidTask[]): ValidTask[] {
  const seen = new Set<string>();
  return tasks.filter((task) => !seen.has(task.id) && seen.add(task.id));
}

function toTaskRecord(
  job: Job<TaskJobData>,
  state: TaskState,
  lease: { owner: string; expiresAt: number } | null,
): TaskRecord {
  const finished = state === 'completed' || state === 'dead' || state === 'canceled';
  return {
    id: taskIdOf(String(job.id)),
    groupId: job.data.groupId,
    payload: job.data.payload,
    priority: job.priority || job.opts.priority || 0,
    state,
    // BullMQ counts the attempt that completed too; ours counts failed attempts only.
    attemptsMade: state === 'completed' ? Math.max(0, job.attemptsMade - 1) : job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    stalledCount: job.stalledCounter,
    runAt: job.data.runAt,
    leaseOwner: lease?.owner ?? null,
    leaseExpiresAt: lease?.expiresAt ?? null,
    lastError: errorOf(job),
    createdAt: job.timestamp,
    updatedAt: Math.max(job.timestamp, job.processedOn ?? 0, job.finishedOn ?? 0),
    finishedAt: finished ? (job.finishedOn ?? null) : null,
  };
}
