// The embedded queue backend: tasks live in the SQLite file shared with the job store, claims
// take the write lock (BEGIN IMMEDIATE) so two processes never lease the same task.

import { randomUUID } from 'node:crypto';
import type { Statement, Transaction } from 'better-sqlite3';
import { toError, ValidationError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../store/cursor.js';
import type { SqliteDatabase } from '../../store/sqlite-database.js';
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
  TaskError,
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
  TASK_STALLED_CODE,
  validateTask,
} from '../queue-options.js';

export { QueueEventEmitter } from '../queue-events.js';
export { DEFAULT_TASK_PRIORITY, MAX_TASK_PRIORITY, TASK_STALLED_CODE } from '../queue-options.js';

/** Settings of `SqliteQueue`: the shared queue options plus where listener errors go. */
export interface SqliteQueueOptions extends QueueOptions {
  /** Receives errors thrown by event listeners; by default they are swallowed. */
  onListenerError?: (error: Error, event: QueueEventName) => void;
  /**
   * How long a completed task stays readable before a sweep deletes it, in ms. Default one
   * day, as on the Redis backend.
   */
  completedRetentionMs?: number;
}

/** Default of `completedRetentionMs`: one day. */
const DEFAULT_COMPLETED_RETENTION_MS = 86_400_000;
/** Completed tasks deleted per sweep at most, so one sweep never holds the write lock long. */
const PRUNE_BATCH_TASKS = 1_000;

/** A row of the `tasks` table as better-sqlite3 returns it. */
interface TaskRow {
  seq: number;
  id: string;
  group_id: string;
  payload: string;
  priority: number;
  state: TaskState;
  attempts_made: number;
  max_attempts: number;
  stalled_count: number;
  run_at: number;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** Parameters of the insert statement, validated. */
interface TaskInsert {
  id: string;
  groupId: string;
  payload: string;
  priority: number;
  maxAttempts: number;
  runAt: number;
  now: number;
}

/** The lease columns every lease operation matches on. */
interface LeaseMatch {
  taskId: string;
  token: string;
}

/** What `fail` stored, and how to tell listeners about it after the commit. */
interface RecordedFailure {
  outcome: FailOutcome;
  announce: () => void;
}

/** The queue's multi-statement operations, each wrapped in a transaction function once. */
interface QueueTransactions {
  insert: Transaction<(rows: readonly TaskInsert[]) => string[]>;
  claim: Transaction<(workerId: string, leaseDurationMs: number, limit: number) => ClaimedTask[]>;
  fail: Transaction<(lease: Lease, failure: FailureReport) => RecordedFailure>;
  sweep: Transaction<() => ExpiredLeaseSweep>;
  cancel: Transaction<(params: { ids: string; now: number }) => string[]>;
  counts: Transaction<(now: number) => QueueCounts>;
}

/**
 * `QueueBackend` on an SQLite database opened with `openDatabase(file, QUEUE_MIGRATIONS, …)`.
 * Every statement is prepared once; every write runs in a BEGIN IMMEDIATE transaction, so
 * several processes may share the file. A lease past its `expiresAt` still counts until a sweep
 * takes the task back. The promises settle synchronously-computed results (better-sqlite3 is
 * synchronous): a call blocks its event loop for the duration of one small transaction.
 *
 * @throws TypeError when an option is out of range (the message names it).
 */
export class SqliteQueue implements QueueBackend {
  readonly #db: SqliteDatabase;
  readonly #options: Readonly<QueueOptions>;
  readonly #completedRetentionMs: number;
  readonly #now: () => number;
  readonly #events: QueueEventEmitter;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #tx: QueueTransactions;

  constructor(db: SqliteDatabase, options: SqliteQueueOptions, now: () => number = Date.now) {
    this.#db = db;
    this.#options = compileQueueOptions(options);
    this.#completedRetentionMs = options.completedRetentionMs ?? DEFAULT_COMPLETED_RETENTION_MS;
    this.#now = now;
    this.#events = new QueueEventEmitter(options.onListenerError);
    this.#sql = prepareStatements(db);
    this.#tx = this.#prepareTransactions();
  }

  enqueue(tasks: readonly TaskInput[]): Promise<string[]> {
    return settle(() => this.enqueueSync(tasks));
  }

  /**
   * Synchronous `enqueue`, for a caller that stores tasks inside its own `db.transaction` (the
   * job store, so a job and its tasks commit together); nested, it runs as a savepoint. The
   * `task:enqueued` event fires on return, before such an outer transaction commits.
   *
   * @throws TypeError when a task has an invalid id, priority, maxAttempts or runAt.
   */
  enqueueSync(tasks: readonly TaskInput[]): string[] {
    const now = this.#now();
    const rows = tasks.map((task) => toTaskInsert(task, now, this.#options.maxAttempts));

    const inserted = this.#tx.insert.immediate(rows);
    if (inserted.length > 0) this.#events.emit('task:enqueued', { taskIds: inserted });
    return inserted;
  }

  claim(workerId: string, leaseDurationMs: number, limit = 1): Promise<ClaimedTask[]> {
    return settle(() => {
      requirePositiveInteger('limit', limit);
      requirePositiveNumber('leaseDurationMs', leaseDurationMs);

      const tasks = this.#tx.claim.immediate(workerId, leaseDurationMs, limit);
      for (const { task } of tasks) this.#events.emit('task:claimed', { task, workerId });
      return tasks;
    });
  }

  renew(lease: Lease, leaseDurationMs: number): Promise<boolean> {
    return settle(() => {
      requirePositiveNumber('leaseDurationMs', leaseDurationMs);
      const now = this.#now();
      const params = { ...leaseMatch(lease), expiresAt: now + leaseDurationMs, now };
      return this.#sql.renew.run(params).changes === 1;
    });
  }

  complete(lease: Lease): Promise<boolean> {
    return settle(() => {
      const done = this.#sql.complete.run({ ...leaseMatch(lease), now: this.#now() }).changes;
      if (done === 1) this.#events.emit('task:completed', { taskId: lease.taskId });
      return done === 1;
    });
  }

  fail(lease: Lease, failure: FailureReport): Promise<FailOutcome> {
    return settle(() => {
      const { outcome, announce } = this.#tx.fail.immediate(lease, failure);
      announce();
      return outcome;
    });
  }

  release(lease: Lease): Promise<boolean> {
    return settle(() => {
      return this.#sql.release.run({ ...leaseMatch(lease), now: this.#now() }).changes === 1;
    });
  }

  sweepExpiredLeases(): Promise<ExpiredLeaseSweep> {
    return settle(() => {
      const sweep = this.#tx.sweep.immediate();
      for (const task of [...sweep.requeued, ...sweep.dead]) {
        this.#events.emit('task:stalled', { task });
      }
      for (const task of sweep.dead) this.#events.emit('task:dead', { task });
      return sweep;
    });
  }

  cancel(taskIds: readonly string[]): Promise<string[]> {
    return settle(() => {
      const params = { ids: JSON.stringify(taskIds), now: this.#now() };
      const canceled = this.#tx.cancel.immediate(params);
      if (canceled.length > 0) this.#events.emit('task:canceled', { taskIds: canceled });
      return canceled;
    });
  }

  getTasks(taskIds: readonly string[]): Promise<TaskRecord[]> {
    return settle(() => {
      const rows = this.#sql.selectByIds.all(JSON.stringify(taskIds)) as TaskRow[];
      const byId = new Map(rows.map((row) => [row.id, toTaskRecord(row)]));
      return [...new Set(taskIds)].flatMap((id) => byId.get(id) ?? []);
    });
  }

  counts(): Promise<QueueCounts> {
    return settle(() => this.#tx.counts.deferred(this.#now()));
  }

  /** @throws ValidationError TTSQ_CURSOR_INVALID when `cursor` was not returned by this method. */
  listDead(limit: number, cursor?: string): Promise<Page<TaskRecord>> {
    return settle(() => {
      requirePositiveInteger('limit', limit);
      const rows = this.#selectDeadPage(limit + 1, cursor);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      const hasMore = rows.length > limit && last !== undefined;
      return {
        items: items.map(toTaskRecord),
        nextCursor: hasMore
          ? encodeCursor({ at: last.finished_at ?? 0, id: String(last.seq) })
          : null,
      };
    });
  }

  redrive(taskId: string): Promise<boolean> {
    return settle(() => this.#sql.redrive.run({ taskId, now: this.#now() }).changes === 1);
  }

  ping(): Promise<void> {
    return settle(() => {
      this.#sql.ping.get();
    });
  }

  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    this.#events.on(event, listener);
  }

  off<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    this.#events.off(event, listener);
  }

  /** Drops every listener. The database stays open: whoever opened it closes it. */
  close(): Promise<void> {
    this.#events.clear();
    return Promise.resolve();
  }

  /** Wraps each multi-statement operation in a transaction function, once per queue. */
  #prepareTransactions(): QueueTransactions {
    const db = this.#db;
    return {
      insert: db.transaction((rows: readonly TaskInsert[]) =>
        rows.filter((row) => this.#sql.insert.run(row).changes === 1).map((row) => row.id),
      ),
      claim: db.transaction((workerId: string, leaseDurationMs: number, limit: number) =>
        this.#claimRunnable(workerId, leaseDurationMs, limit),
      ),
      fail: db.transaction((lease: Lease, failure: FailureReport) =>
        this.#recordFailure(lease, failure),
      ),
      sweep: db.transaction(() => this.#sweep()),
      cancel: db.transaction((params: { ids: string; now: number }) => {
        return this.#sql.cancel.all(params) as string[];
      }),
      counts: db.transaction((now: number) => this.#readCounts(now)),
    };
  }

  #readCounts(now: number): QueueCounts {
    const counts: QueueCounts = {
      waiting: 0,
      active: 0,
      completed: 0,
      dead: 0,
      canceled: 0,
      oldestWaitingAgeMs: 0,
    };
    for (const row of this.#sql.countByState.all() as { state: TaskState; n: number }[]) {
      counts[row.state] = row.n;
    }
    const oldest = this.#sql.oldestRunnable.get(now) as number | null;
    counts.oldestWaitingAgeMs = oldest === null ? 0 : Math.max(0, now - oldest);
    return counts;
  }

  #claimRunnable(workerId: string, leaseDurationMs: number, limit: number): ClaimedTask[] {
    const now = this.#now();
    const seqs = this.#sql.selectRunnable.all(now, limit) as number[];
    return seqs.map((seq) => {
      const token = randomUUID();
      const expiresAt = now + leaseDurationMs;
      const row = this.#sql.activate.get({ seq, workerId, token, expiresAt, now }) as TaskRow;
      return {
        task: toTaskRecord(row),
        lease: { taskId: row.id, token, workerId, expiresAt },
        attempt: row.attempts_made + row.stalled_count + 1,
      };
    });
  }

  /** Stores a failed attempt; `announce` emits its event once the transaction committed. */
  #recordFailure(lease: Lease, failure: FailureReport): RecordedFailure {
    const row = this.#sql.selectLeased.get(leaseMatch(lease)) as TaskRow | undefined;
    if (row === undefined) return { outcome: { kind: 'lost' }, announce: () => undefined };

    const now = this.#now();
    const error: TaskError = { code: failure.code, message: failure.message };
    const attemptsMade = row.attempts_made + 1;
    const ended = { seq: row.seq, attemptsMade, stalledCount: row.stalled_count, now, ...error };
    if (failure.permanent || attemptsMade >= row.max_attempts) {
      const task = toTaskRecord(this.#sql.bury.get(ended) as TaskRow);
      const announce = () => this.#events.emit('task:dead', { task });
      return { outcome: { kind: 'dead', attemptsMade }, announce };
    }

    const { backoffBaseMs, backoffMaxMs } = this.#options;
    const runAt = now + backoffDelayMs(attemptsMade, backoffBaseMs, backoffMaxMs);
    this.#sql.requeue.run({ ...ended, runAt });
    const announce = () => this.#events.emit('task:retrying', { taskId: row.id, runAt, error });
    return { outcome: { kind: 'retrying', runAt, attemptsMade }, announce };
  }

  #sweep(): ExpiredLeaseSweep {
    const now = this.#now();
    const sweep: ExpiredLeaseSweep = { requeued: [], dead: [] };
    for (const row of this.#sql.selectExpired.all(now) as TaskRow[]) {
      const { task, dies } = this.#takeBackExpired(row, now);
      (dies ? sweep.dead : sweep.requeued).push(task);
    }
    this.#sql.pruneCompleted.run(now - this.#completedRetentionMs, PRUNE_BATCH_TASKS);
    return sweep;
  }

  /** Counts the stall of one expired lease (not an attempt); requeues or buries the task. */
  #takeBackExpired(row: TaskRow, now: number): { task: TaskRecord; dies: boolean } {
    const { maxStalledCount } = this.#options;
    const stalledCount = row.stalled_count + 1;
    const dies = stalledCount > maxStalledCount;

    const message = stallMessage(row, stalledCount, maxStalledCount);
    const attemptsMade = row.attempts_made;
    const params = { seq: row.seq, attemptsMade, stalledCount, now, runAt: now, message };
    const statement = dies ? this.#sql.bury : this.#sql.requeue;
    const next = statement.get({ ...params, code: TASK_STALLED_CODE }) as TaskRow;
    return { task: toTaskRecord(next), dies };
  }

  #selectDeadPage(limit: number, cursor: string | undefined): TaskRow[] {
    if (cursor === undefined) return this.#sql.selectDeadFirst.all(limit) as TaskRow[];
    const position = decodeCursor(cursor);
    const seq = Number(position.id);
    if (!Number.isSafeInteger(seq)) {
      throw new ValidationError(
        'TTSQ_CURSOR_INVALID',
        'cursor is not a value returned by listDead',
      );
    }
    const params = { at: position.at, seq, limit };
    return this.#sql.selectDeadAfter.all(params) as TaskRow[];
  }
}

/** Runs synchronous queue work and hands its result or error back as a promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(toError(error));
  }
}

function leaseMatch(lease: Lease): LeaseMatch {
  return { taskId: lease.taskId, token: lease.token };
}

function stallMessage(row: TaskRow, stalledCount: number, maxStalledCount: number): string {
  const owner = row.lease_owner ?? 'unknown';
  return `lease of ${owner} expired: stall ${stalledCount}, ${maxStalledCount} tolerated`;
}

function toTaskRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    groupId: row.group_id,
    payload: JSON.parse(row.payload) as unknown,
    priority: row.priority,
    state: row.state,
    attemptsMade: row.attempts_made,
    maxAttempts: row.max_attempts,
    stalledCount: row.stalled_count,
    runAt: row.run_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastError: toTaskError(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

function toTaskError(row: TaskRow): TaskError | null {
  if (row.last_error_code === null) return null;
  return { code: row.last_error_code, message: row.last_error_message ?? '' };
}

function toTaskInsert(task: TaskInput, now: number, defaultMaxAttempts: number): TaskInsert {
  const valid = validateTask(task, now, defaultMaxAttempts);
  const payload = JSON.stringify(valid.payload);
  return { ...valid, payload, now };
}

const CLEAR_LEASE = 'lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL';
const HELD_LEASE = "id = @taskId AND state = 'active' AND lease_token = @token";

/** Every statement the queue runs, prepared once per connection. */
function prepareStatements(db: SqliteDatabase) {
  const statement = (sql: string): Statement => db.prepare(sql);
  return {
    insert: statement(`
      INSERT INTO tasks (id, group_id, payload, priority, state, max_attempts, run_at,
                         created_at, updated_at)
      VALUES (@id, @groupId, @payload, @priority, 'waiting', @maxAttempts, @runAt, @now, @now)
      ON CONFLICT (id) DO NOTHING`),
    selectRunnable: statement(`
      SELECT seq FROM tasks WHERE state = 'waiting' AND run_at <= ?
      ORDER BY priority, run_at, seq LIMIT ?`).pluck(),
    activate: statement(`
      UPDATE tasks SET state = 'active', lease_owner = @workerId, lease_token = @token,
                       lease_expires_at = @expiresAt, updated_at = @now
      WHERE seq = @seq RETURNING *`),
    renew: statement(
      `UPDATE tasks SET lease_expires_at = @expiresAt, updated_at = @now WHERE ${HELD_LEASE}`,
    ),
    complete: statement(`
      UPDATE tasks SET state = 'completed', ${CLEAR_LEASE}, updated_at = @now, finished_at = @now
      WHERE ${HELD_LEASE}`),
    release: statement(
      `UPDATE tasks SET state = 'waiting', ${CLEAR_LEASE}, updated_at = @now WHERE ${HELD_LEASE}`,
    ),
    selectLeased: statement(`SELECT * FROM tasks WHERE ${HELD_LEASE}`),
    requeue: statement(`
      UPDATE tasks SET state = 'waiting', ${CLEAR_LEASE}, attempts_made = @attemptsMade,
                       stalled_count = @stalledCount, run_at = @runAt, last_error_code = @code,
                       last_error_message = @message, updated_at = @now
      WHERE seq = @seq RETURNING *`),
    bury: statement(`
      UPDATE tasks SET state = 'dead', ${CLEAR_LEASE}, attempts_made = @attemptsMade,
                       stalled_count = @stalledCount, last_error_code = @code,
                       last_error_message = @message, updated_at = @now, finished_at = @now
      WHERE seq = @seq RETURNING *`),
    pruneCompleted: statement(`
      DELETE FROM tasks WHERE seq IN (
        SELECT seq FROM tasks WHERE state = 'completed' AND finished_at < ? LIMIT ?)`),
    selectExpired: statement(`
      SELECT * FROM tasks WHERE state = 'active' AND lease_expires_at < ?
      ORDER BY lease_expires_at`),
    cancel: statement(`
      UPDATE tasks SET state = 'canceled', ${CLEAR_LEASE}, updated_at = @now, finished_at = @now
      WHERE id IN (SELECT value FROM json_each(@ids)) AND state IN ('waiting', 'active')
      RETURNING id`).pluck(),
    selectByIds: statement('SELECT * FROM tasks WHERE id IN (SELECT value FROM json_each(?))'),
    countByState: statement('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state'),
    oldestRunnable: statement(
      "SELECT MIN(run_at) FROM tasks WHERE state = 'waiting' AND run_at <= ?",
    ).pluck(),
    selectDeadFirst: statement(`
      SELECT * FROM tasks WHERE state = 'dead' ORDER BY finished_at DESC, seq DESC LIMIT ?`),
    selectDeadAfter: statement(`
      SELECT * FROM tasks
      WHERE state = 'dead' AND (finished_at, seq) < (@at, @seq)
      ORDER BY finished_at DESC, seq DESC LIMIT @limit`),
    redrive: statement(`
      UPDATE tasks SET state = 'waiting', attempts_made = 0, stalled_count = 0, run_at = @now,
                       last_error_code = NULL, last_error_message = NULL, finished_at = NULL,
                       updated_at = @now
      WHERE id = @taskId AND state IN ('dead', 'canceled')`),
    ping: statement('SELECT 1'),
  };
}
