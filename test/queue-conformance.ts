// The behaviour every QueueBackend must show, written once and run against each backend (SQLite,
// Redis). It knows only the contract in src/queue/backend.ts, never a backend's storage.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ClaimedTask,
  ExpiredLeaseSweep,
  Lease,
  QueueBackend,
  QueueOptions,
  TaskInput,
  TaskRecord,
} from '../src/queue/backend.js';

/** A backend under test, on storage of its own. */
export interface ConformanceSubject {
  backend: QueueBackend;
  /** Closes the current backend and opens a new one on the same storage. */
  reopen(): Promise<QueueBackend>;
  /** Closes the current backend and removes its storage. */
  dispose(): Promise<void>;
}

/** Makes a fresh, empty backend with the given options. */
export type ConformanceFactory = (options: QueueOptions) => Promise<ConformanceSubject>;

const BASE_OPTIONS: QueueOptions = {
  maxAttempts: 3,
  maxStalledCount: 1,
  backoffBaseMs: 30,
  backoffMaxMs: 60,
};

/** Long enough that a lease never lapses while a test step runs. */
const LEASE_MS = 10_000;
/** Short enough that a test waits little for a lease to lapse. */
const SHORT_LEASE_MS = 100;
/** Renewed every SHORT_LEASE_MS / 2, so a slow event loop still renews well before expiry. */
const RENEWED_LEASE_MS = 300;
const WAIT_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 10;

const TRANSIENT = { code: 'TTSQ_ENGINE_CRASHED', message: 'engine exited', permanent: false };
const PERMANENT = { code: 'TTSQ_VOICE_UNKNOWN', message: 'no such voice', permanent: true };

/**
 * Registers the conformance suite for one backend. `makeBackend` is called once per test; the
 * subject is disposed after it.
 */
export function runQueueConformance(name: string, makeBackend: ConformanceFactory): void {
  void describe(`${name} queue backend`, () => {
    const context = new SubjectHolder(makeBackend);
    afterEach(() => context.dispose());

    describeEnqueueAndClaim(context);
    describeLeases(context);
    describeFailures(context);
    describeDeadLetters(context);
    describeCancelAndRelease(context);
    describeCountsAndDurability(context);
    describeEvents(context);
  });
}

/** Holds the subject of the running test so `afterEach` can dispose of it. */
class SubjectHolder {
  #subject: ConformanceSubject | undefined;
  readonly #makeBackend: ConformanceFactory;

  constructor(makeBackend: ConformanceFactory) {
    this.#makeBackend = makeBackend;
  }

  async open(overrides: Partial<QueueOptions> = {}): Promise<QueueBackend> {
    this.#subject = await this.#makeBackend({ ...BASE_OPTIONS, ...overrides });
    return this.#subject.backend;
  }

  reopen(): Promise<QueueBackend> {
    assert.ok(this.#subject, 'open() first');
    return this.#subject.reopen();
  }

  async dispose(): Promise<void> {
    const subject = this.#subject;
    this.#subject = undefined;
    await subject?.dispose();
  }
}

function describeEnqueueAndClaim(context: SubjectHolder): void {
  void describe('enqueue and claim', () => {
    void it('hands an enqueued task to a worker with a lease, then completes it', async () => {
      const queue = await context.open();
      assert.deepEqual(await queue.enqueue([task('t1', { payload: { text: 'hello' } })]), ['t1']);

      const claimedAt = Date.now();
      const { task: claimed, lease, attempt } = await claimOne(queue, 'worker-a');
      assert.equal(attempt, 1);
      assert.deepEqual(
        [claimed.id, claimed.groupId, claimed.state, claimed.priority, claimed.leaseOwner],
        ['t1', 'job-1', 'active', 100, 'worker-a'],
      );
      assert.deepEqual(claimed.payload, { text: 'hello' });
      assert.deepEqual([lease.taskId, lease.workerId], ['t1', 'worker-a']);
      assert.ok(lease.expiresAt >= claimedAt + LEASE_MS);

      assert.equal(await queue.complete(lease), true);
      const done = await getTask(queue, 't1');
      assert.equal(done.state, 'completed');
      assert.notEqual(done.finishedAt, null);
      assert.equal(done.leaseOwner, null);
      assert.deepEqual(await queue.claim('worker-b', LEASE_MS), []);
      assert.equal(await queue.complete(lease), false);
    });

    void it('skips ids that already exist and keeps the first task', async () => {
      const queue = await context.open();
      await queue.enqueue([task('a', { payload: 'first' })]);

      assert.deepEqual(await queue.enqueue([task('a', { payload: 'second' }), task('b')]), ['b']);
      assert.deepEqual(await queue.enqueue([task('c'), task('c')]), ['c']);
      assert.equal((await getTask(queue, 'a')).payload, 'first');
      assert.deepEqual(ids(await queue.getTasks(['c', 'unknown', 'a'])), ['c', 'a']);
    });

    void it('stores a batch with an invalid task not at all', async () => {
      const queue = await context.open();
      const batch = [task('x'), task('y'), task('z', { priority: 0 })];

      await assert.rejects(queue.enqueue(batch), isTypeErrorNaming('priority'));
      await assert.rejects(queue.enqueue([task('w', { priority: 2_097_153 })]), TypeError);
      assert.deepEqual(await queue.getTasks(['x', 'y', 'z', 'w']), []);
      assert.deepEqual(await queue.enqueue([task('x', { priority: 2_097_152 })]), ['x']);
    });

    void it('hands out the most urgent priority first, then in enqueue order', async () => {
      const queue = await context.open();
      await queue.enqueue([
        task('a', { priority: 100 }),
        task('b', { priority: 5 }),
        task('c', { priority: 100 }),
        task('d', { priority: 5 }),
        task('e', { priority: 1 }),
        task('f', { priority: 100 }),
      ]);

      assert.equal((await claimOne(queue, 'w1')).task.id, 'e');
      const batch = await queue.claim('w2', LEASE_MS, 4);
      assert.deepEqual(ids(batch.map((claimed) => claimed.task)), ['b', 'd', 'a', 'c']);
      assert.equal((await claimOne(queue, 'w3')).task.id, 'f');
    });

    void it('gives every task of a batch claim its own lease', async () => {
      const queue = await context.open();
      await queue.enqueue([task('a'), task('b'), task('c')]);

      const batch = await queue.claim('w1', LEASE_MS, 10);
      assert.equal(batch.length, 3);
      assert.equal(new Set(batch.map((claimed) => claimed.lease.token)).size, 3);
      for (const claimed of batch) assert.equal(await queue.complete(claimed.lease), true);
    });

    void it('never hands the same task to two of many parallel claims', async () => {
      const queue = await context.open();
      const taskIds = Array.from({ length: 40 }, (_, index) => `t${index}`);
      await queue.enqueue(taskIds.map((id) => task(id)));

      const claims = Array.from({ length: 60 }, (_, index) =>
        queue.claim(`worker-${index}`, LEASE_MS, 1 + (index % 3)),
      );
      const claimed = (await Promise.all(claims)).flat().map((each) => each.task.id);
      assert.equal(claimed.length, taskIds.length);
      assert.deepEqual([...new Set(claimed)].sort(), [...taskIds].sort());
    });
  });
}

function describeLeases(context: SubjectHolder): void {
  void describe('leases', () => {
    void it('keeps a renewed lease from being swept', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1')]);
      const { lease } = await claimOne(queue, 'worker-a', RENEWED_LEASE_MS);

      for (let round = 0; round < 5; round += 1) {
        await sleep(SHORT_LEASE_MS / 2);
        assert.equal(await queue.renew(lease, RENEWED_LEASE_MS), true);
        assert.deepEqual(sweptIds(await queue.sweepExpiredLeases()), []);
      }
      const renewed = await getTask(queue, 't1');
      assert.equal(renewed.state, 'active');
      assert.ok((renewed.leaseExpiresAt ?? 0) > lease.expiresAt);
      assert.equal(await queue.complete(lease), true);
    });

    void it('runs a task whose lease expired again on another worker', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1')]);
      const first = await claimOne(queue, 'worker-a', SHORT_LEASE_MS);

      const sweep = await waitForSweepOf(queue, 't1');
      const requeued = sweep.requeued.find((record) => record.id === 't1');
      assert.ok(requeued, 'the task is requeued, not dead');
      // An expired lease is a stall, not a failed attempt; the next run is still the second.
      assert.deepEqual(
        [requeued.state, requeued.stalledCount, requeued.attemptsMade],
        ['waiting', 1, 0],
      );
      assert.equal(await queue.renew(first.lease, LEASE_MS), false);

      const second = await claimOne(queue, 'worker-b');
      assert.equal(second.attempt, 2);
      assert.equal(second.task.leaseOwner, 'worker-b');
      await assertLeaseLost(queue, first.lease);
      assert.equal(await queue.complete(second.lease), true);
    });

    void it('dead-letters a task whose lease expired more than maxStalledCount times', async () => {
      const queue = await context.open({ maxStalledCount: 1, maxAttempts: 10 });
      await queue.enqueue([task('t1')]);

      await claimOne(queue, 'worker-a', SHORT_LEASE_MS);
      assert.deepEqual(ids((await waitForSweepOf(queue, 't1')).requeued), ['t1']);
      await claimOne(queue, 'worker-b', SHORT_LEASE_MS);
      const sweep = await waitForSweepOf(queue, 't1');

      assert.deepEqual(ids(sweep.dead), ['t1']);
      const dead = await getTask(queue, 't1');
      assert.equal(dead.state, 'dead');
      assert.equal(dead.stalledCount, 2);
      assert.equal(dead.lastError?.code, 'TTSQ_TASK_STALLED');
      assert.deepEqual(await queue.claim('worker-c', LEASE_MS), []);
    });
  });
}

function describeFailures(context: SubjectHolder): void {
  void describe('failures', () => {
    void it('retries a transient failure after its backoff, with the next attempt', async () => {
      const queue = await context.open({ backoffBaseMs: 100, backoffMaxMs: 100 });
      await queue.enqueue([task('t1')]);
      const first = await claimOne(queue, 'worker-a');

      const outcome = await queue.fail(first.lease, TRANSIENT);
      assert.equal(outcome.kind, 'retrying');
      assert.ok(outcome.kind === 'retrying' && outcome.attemptsMade === 1);
      const retry = await claimAfter(queue, outcome.runAt);
      assert.equal(retry.attempt, 2);
      assert.equal(retry.task.attemptsMade, 1);
      assert.deepEqual(retry.task.lastError, { code: TRANSIENT.code, message: TRANSIENT.message });
      await assertLeaseLost(queue, first.lease);
    });

    void it('dead-letters a permanent failure at once', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1')]);
      const { lease } = await claimOne(queue, 'worker-a');

      assert.deepEqual(await queue.fail(lease, PERMANENT), { kind: 'dead', attemptsMade: 1 });
      const dead = await getTask(queue, 't1');
      assert.equal(dead.state, 'dead');
      assert.deepEqual(dead.lastError, { code: PERMANENT.code, message: PERMANENT.message });
      assert.deepEqual(await queue.claim('worker-b', LEASE_MS), []);
    });

    void it('dead-letters a task out of attempts with its last error', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1', { maxAttempts: 2 })]);

      const first = await claimOne(queue, 'worker-a');
      const retrying = await queue.fail(first.lease, { ...TRANSIENT, message: 'first' });
      assert.equal(retrying.kind, 'retrying');
      const second = await claimAfter(queue, retrying.kind === 'retrying' ? retrying.runAt : 0);
      const outcome = await queue.fail(second.lease, { ...TRANSIENT, message: 'second' });

      assert.deepEqual(outcome, { kind: 'dead', attemptsMade: 2 });
      const dead = await getTask(queue, 't1');
      assert.equal(dead.state, 'dead');
      assert.equal(dead.lastError?.message, 'second');
      assert.deepEqual(ids((await queue.listDead(10)).items), ['t1']);
    });
  });
}

function describeDeadLetters(context: SubjectHolder): void {
  void describe('dead letters', () => {
    void it('lists dead letters newest first, a page at a time', async () => {
      const queue = await context.open();
      const taskIds = ['d0', 'd1', 'd2', 'd3', 'd4'];
      await queue.enqueue(taskIds.map((id) => task(id)));
      for (const claimed of await queue.claim('worker-a', LEASE_MS, taskIds.length)) {
        await queue.fail(claimed.lease, PERMANENT);
      }

      const pages = await readDeadPages(queue, 2);
      assert.deepEqual(pages.map(ids), [['d4', 'd3'], ['d2', 'd1'], ['d0']]);
      const whole = await queue.listDead(5);
      assert.equal(whole.items.length, 5);
      assert.equal(whole.nextCursor, null);
    });

    void it('redrives a dead task with a fresh attempt budget', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1', { maxAttempts: 1 })]);
      const first = await claimOne(queue, 'worker-a');
      assert.deepEqual(await queue.fail(first.lease, TRANSIENT), { kind: 'dead', attemptsMade: 1 });

      assert.equal(await queue.redrive('t1'), true);
      const waiting = await getTask(queue, 't1');
      assert.deepEqual(
        [waiting.state, waiting.attemptsMade, waiting.lastError],
        ['waiting', 0, null],
      );
      const again = await claimOne(queue, 'worker-b');
      assert.equal(again.attempt, 1);
      assert.equal(await queue.redrive('t1'), false, 'an active task is not redriven');
      assert.equal(await queue.redrive('unknown'), false);
      assert.deepEqual((await queue.listDead(10)).items, []);
    });
  });
}

function describeCancelAndRelease(context: SubjectHolder): void {
  void describe('cancel and release', () => {
    void it('keeps a canceled waiting task from being claimed', async () => {
      const queue = await context.open();
      await queue.enqueue([task('a'), task('b')]);

      assert.deepEqual(await queue.cancel(['a', 'unknown']), ['a']);
      assert.equal((await getTask(queue, 'a')).state, 'canceled');
      assert.deepEqual(ids((await queue.claim('worker-a', LEASE_MS, 5)).map((c) => c.task)), ['b']);
      assert.equal(await queue.redrive('a'), true, 'a canceled task can be redriven');
    });

    void it('takes the lease away from a canceled active task', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1')]);
      const { lease } = await claimOne(queue, 'worker-a');

      assert.deepEqual(await queue.cancel(['t1']), ['t1']);
      await assertLeaseLost(queue, lease);
      assert.equal((await getTask(queue, 't1')).state, 'canceled');
      assert.deepEqual(await queue.cancel(['t1']), [], 'a canceled task is not canceled twice');
    });

    void it('hands a released task out again without counting an attempt', async () => {
      const queue = await context.open();
      await queue.enqueue([task('t1')]);
      const first = await claimOne(queue, 'worker-a');

      assert.equal(await queue.release(first.lease), true);
      const released = await getTask(queue, 't1');
      assert.deepEqual([released.state, released.attemptsMade], ['waiting', 0]);
      const second = await claimOne(queue, 'worker-b');
      assert.equal(second.attempt, 1);
      await assertLeaseLost(queue, first.lease);
    });
  });
}

function describeCountsAndDurability(context: SubjectHolder): void {
  void describe('counts and durability', () => {
    void it('counts tasks per state and the age of the oldest runnable task', async () => {
      const queue = await context.open();
      assert.deepEqual(await queue.counts(), emptyCounts());
      const now = Date.now();
      await queue.enqueue([
        task('old', { priority: 200, runAt: now - 5_000 }),
        task('delayed', { runAt: now + 60_000 }),
        task('c'),
        task('d'),
        task('e'),
      ]);

      const [c, d] = await queue.claim('worker-a', LEASE_MS, 2);
      assert.ok(c && d);
      await queue.complete(c.lease);
      await queue.fail(d.lease, PERMANENT);
      await queue.cancel(['e']);
      const counts = await queue.counts();
      const { oldestWaitingAgeMs, ...perState } = counts;
      assert.deepEqual(perState, { waiting: 2, active: 0, completed: 1, dead: 1, canceled: 1 });
      assert.ok(
        oldestWaitingAgeMs >= 5_000 && oldestWaitingAgeMs < 60_000,
        `${oldestWaitingAgeMs}`,
      );
    });

    void it('keeps tasks and their states across a reopen', async () => {
      let queue = await context.open();
      await queue.enqueue(['a', 'b', 'c', 'd'].map((id) => task(id, { payload: { id } })));
      const [a, b, c] = await queue.claim('worker-a', LEASE_MS, 3);
      assert.ok(a && b && c);
      await queue.complete(a.lease);
      await queue.fail(b.lease, PERMANENT);

      queue = await context.reopen();
      const states = (await queue.getTasks(['a', 'b', 'c', 'd'])).map((t) => [t.id, t.state]);
      assert.deepEqual(states, [
        ['a', 'completed'],
        ['b', 'dead'],
        ['c', 'active'],
        ['d', 'waiting'],
      ]);
      assert.deepEqual((await getTask(queue, 'd')).payload, { id: 'd' });
      assert.equal(await queue.complete(c.lease), true, 'a lease outlives a reopen');
      assert.equal((await claimOne(queue, 'worker-b')).task.id, 'd');
    });
  });
}

function describeEvents(context: SubjectHolder): void {
  void describe('events', () => {
    void it('keeps working when an event listener throws', async () => {
      const queue = await context.open();
      const thrower = (): void => {
        throw new Error('listener failure');
      };
      const enqueued: string[][] = [];
      const recordEnqueued = (event: { taskIds: string[] }): void => {
        enqueued.push(event.taskIds);
      };
      queue.on('task:enqueued', thrower);
      queue.on('task:enqueued', recordEnqueued);
      queue.on('task:claimed', thrower);
      queue.on('task:completed', thrower);
      queue.on('task:retrying', thrower);
      queue.on('task:dead', thrower);
      queue.on('task:canceled', thrower);

      assert.deepEqual(await queue.enqueue([task('a'), task('b'), task('c')]), ['a', 'b', 'c']);
      const [a, b, c] = await queue.claim('worker-a', LEASE_MS, 3);
      assert.ok(a && b && c);
      assert.equal(await queue.complete(a.lease), true);
      assert.equal((await queue.fail(b.lease, TRANSIENT)).kind, 'retrying');
      assert.equal((await queue.fail(c.lease, PERMANENT)).kind, 'dead');
      assert.deepEqual(await queue.cancel(['b']), ['b']);
      assert.deepEqual(enqueued, [['a', 'b', 'c']]);

      queue.off('task:enqueued', recordEnqueued);
      await queue.enqueue([task('d')]);
      assert.equal(enqueued.length, 1, 'a listener removed with off() is not called');
    });
  });
}

function task(id: string, fields: Partial<Omit<TaskInput, 'id'>> = {}): TaskInput {
  return { id, groupId: 'job-1', payload: { segment: id }, ...fields };
}

function ids(tasks: readonly TaskRecord[]): string[] {
  return tasks.map((record) => record.id);
}

function sweptIds(sweep: ExpiredLeaseSweep): string[] {
  return ids([...sweep.requeued, ...sweep.dead]);
}

function emptyCounts() {
  return { waiting: 0, active: 0, completed: 0, dead: 0, canceled: 0, oldestWaitingAgeMs: 0 };
}

function isTypeErrorNaming(option: string): (error: unknown) => boolean {
  return (error) => error instanceof TypeError && error.message.includes(option);
}

async function getTask(queue: QueueBackend, taskId: string): Promise<TaskRecord> {
  const [record] = await queue.getTasks([taskId]);
  assert.ok(record, `task ${taskId} exists`);
  return record;
}

async function claimOne(
  queue: QueueBackend,
  workerId: string,
  leaseDurationMs = LEASE_MS,
): Promise<ClaimedTask> {
  const [claimed, ...rest] = await queue.claim(workerId, leaseDurationMs);
  assert.ok(claimed, 'a task is claimed');
  assert.equal(rest.length, 0);
  return claimed;
}

/** Polls until a claim succeeds, checking that none succeeds before `runAt`. */
async function claimAfter(queue: QueueBackend, runAt: number): Promise<ClaimedTask> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const [claimed] = await queue.claim('worker-retry', LEASE_MS);
    const claimedBy = Date.now();
    if (claimed !== undefined) {
      assert.ok(claimedBy >= runAt, `claimed at ${claimedBy}, before runAt ${runAt}`);
      return claimed;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  assert.fail(`no task became claimable within ${WAIT_TIMEOUT_MS} ms of runAt ${runAt}`);
}

/** Sweeps until a sweep takes `taskId` back (its lease must be short). */
async function waitForSweepOf(queue: QueueBackend, taskId: string): Promise<ExpiredLeaseSweep> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const sweep = await queue.sweepExpiredLeases();
    if (sweptIds(sweep).includes(taskId)) return sweep;
    await sleep(POLL_INTERVAL_MS);
  }
  assert.fail(`the lease on ${taskId} was not swept within ${WAIT_TIMEOUT_MS} ms`);
}

async function assertLeaseLost(queue: QueueBackend, lease: Lease): Promise<void> {
  assert.equal(await queue.renew(lease, LEASE_MS), false, 'renew with a lost lease');
  assert.equal(await queue.complete(lease), false, 'complete with a lost lease');
  assert.deepEqual(await queue.fail(lease, TRANSIENT), { kind: 'lost' });
  assert.equal(await queue.release(lease), false, 'release with a lost lease');
}

async function readDeadPages(queue: QueueBackend, limit: number): Promise<TaskRecord[][]> {
  const pages: TaskRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.listDead(limit, cursor);
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && pages.length < 10);
  return pages;
}
