// The SQLite queue: the backend conformance suite on a temp file per test, then what only SQLite
// has (several connections to one file, as several processes would open it; migrations).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { QueueOptions } from '../src/queue/backend.js';
import { QUEUE_MIGRATIONS } from '../src/queue/sqlite/migrations.js';
import { SqliteQueue } from '../src/queue/sqlite/sqlite-queue.js';
import { openDatabase } from '../src/store/sqlite-database.js';
import type { SqliteDatabase } from '../src/store/sqlite-database.js';
import type { ConformanceSubject } from './queue-conformance.js';
import { runQueueConformance } from './queue-conformance.js';

const OPTIONS: QueueOptions = {
  maxAttempts: 3,
  maxStalledCount: 1,
  backoffBaseMs: 30,
  backoffMaxMs: 60,
};

runQueueConformance('sqlite', (options) => Promise.resolve(openSubject(options)));

/** A queue on a fresh temp file; reopening closes the connection and opens a new one. */
function openSubject(options: QueueOptions): ConformanceSubject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-queue-'));
  const file = path.join(dir, 'ttsq.db');
  let db = openDatabase(file, QUEUE_MIGRATIONS);
  const subject: ConformanceSubject = {
    backend: new SqliteQueue(db, options),
    async reopen() {
      await subject.backend.close();
      db.close();
      db = openDatabase(file, QUEUE_MIGRATIONS);
      subject.backend = new SqliteQueue(db, options);
      return subject.backend;
    },
    async dispose() {
      await subject.backend.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return subject;
}

void describe('sqlite queue on a shared file', () => {
  let dir: string;
  let file: string;
  const connections: SqliteDatabase[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-queue-'));
    file = path.join(dir, 'ttsq.db');
  });

  afterEach(() => {
    for (const db of connections.splice(0)) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function connect(): SqliteDatabase {
    const db = openDatabase(file, QUEUE_MIGRATIONS);
    connections.push(db);
    return db;
  }

  void it('never lets two connections claim the same task', async () => {
    const first = new SqliteQueue(connect(), OPTIONS);
    const second = new SqliteQueue(connect(), OPTIONS);
    const taskIds = Array.from({ length: 60 }, (_, index) => `t${index}`);
    await first.enqueue(taskIds.map((id) => ({ id, groupId: 'job-1', payload: null })));

    const claimed: string[] = [];
    for (let round = 0; round < 40; round += 1) {
      const batches = await Promise.all([first.claim('a', 10_000, 2), second.claim('b', 10_000)]);
      claimed.push(...batches.flat().map((each) => each.task.id));
    }
    assert.deepEqual([...claimed].sort(), [...taskIds].sort());
  });

  void it('never lets threads with their own connections claim the same task', async () => {
    const queue = new SqliteQueue(connect(), OPTIONS);
    const taskIds = Array.from({ length: 400 }, (_, index) => `t${index}`);
    await queue.enqueue(taskIds.map((id) => ({ id, groupId: 'job-1', payload: null })));

    const perThread = await Promise.all([1, 2, 3, 4].map((limit) => claimInThread(file, limit)));
    const claimed = perThread.flat();
    assert.equal(claimed.length, taskIds.length, 'each task is claimed exactly once');
    assert.deepEqual([...new Set(claimed)].sort(), [...taskIds].sort());
    assert.equal((await queue.counts()).completed, taskIds.length);
  });

  void it('applies its migrations once, however often the file is opened', async () => {
    const queue = new SqliteQueue(connect(), OPTIONS);
    await queue.enqueue([{ id: 't1', groupId: 'job-1', payload: { text: 'kept' } }]);

    const reopened = connect();
    const applied = reopened.prepare('SELECT id FROM schema_migrations ORDER BY id').pluck().all();
    assert.deepEqual(
      applied,
      QUEUE_MIGRATIONS.map((migration) => migration.id),
    );
    const [task] = await new SqliteQueue(reopened, OPTIONS).getTasks(['t1']);
    assert.deepEqual(task?.payload, { text: 'kept' });
  });

  void it('refuses options out of range with a TypeError naming the option', () => {
    const db = connect();
    assert.throws(() => new SqliteQueue(db, { ...OPTIONS, maxAttempts: 0 }), /maxAttempts/);
    assert.throws(
      () => new SqliteQueue(db, { ...OPTIONS, maxStalledCount: -1 }),
      /maxStalledCount/,
    );
    assert.throws(() => new SqliteQueue(db, { ...OPTIONS, backoffMaxMs: 1 }), /backoffMaxMs/);
  });

  void it('deletes completed tasks past their retention on a sweep, and nothing else', async () => {
    let now = 1_000;
    const queue = new SqliteQueue(connect(), { ...OPTIONS, completedRetentionMs: 500 }, () => now);
    const ids = ['done', 'dead', 'waiting'];
    await queue.enqueue(ids.map((id) => ({ id, groupId: 'job-1', payload: null, priority: 1 })));
    const [done, dead] = await queue.claim('w1', 60_000, 2);
    assert.ok(done && dead);
    await queue.complete(done.lease);
    await queue.fail(dead.lease, { code: 'X', message: 'x', permanent: true });

    now += 400;
    await queue.sweepExpiredLeases();
    assert.equal((await queue.getTasks(ids)).length, 3);
    now += 200;
    await queue.sweepExpiredLeases();
    const left = await queue.getTasks(ids);
    assert.deepEqual(left.map((task) => task.id).sort(), ['dead', 'waiting']);
  });

  void it('hands listener errors to onListenerError', async () => {
    const errors: string[] = [];
    const onListenerError = (error: Error, event: string) =>
      errors.push(`${event}: ${error.message}`);
    const queue = new SqliteQueue(connect(), { ...OPTIONS, onListenerError });
    queue.on('task:enqueued', () => {
      throw new Error('boom');
    });

    await queue.enqueue([{ id: 't1', groupId: 'job-1', payload: null }]);
    assert.deepEqual(errors, ['task:enqueued: boom']);
  });

  void it('commits tasks enqueued inside an outer transaction with it, or not at all', async () => {
    const db = connect();
    const queue = new SqliteQueue(db, OPTIONS);
    const enqueueThenFail = db.transaction(() => {
      queue.enqueueSync([{ id: 'rolled-back', groupId: 'job-1', payload: null }]);
      throw new Error('the job insert failed');
    });

    assert.throws(() => enqueueThenFail(), /job insert failed/);
    db.transaction(() => queue.enqueueSync([{ id: 'kept', groupId: 'job-2', payload: null }]))();
    assert.deepEqual(
      (await queue.getTasks(['rolled-back', 'kept'])).map((task) => task.id),
      ['kept'],
    );
  });
});

/**
 * Runs a claim-and-complete loop in a worker thread on its own connection to `file`; resolves
 * with the ids it claimed. The worker is plain JavaScript importing the compiled modules.
 */
function claimInThread(file: string, limit: number): Promise<string[]> {
  const moduleUrl = (relative: string) => new URL(relative, import.meta.url).href;
  const workerData = {
    file,
    limit,
    options: OPTIONS,
    databaseModule: moduleUrl('../src/store/sqlite-database.js'),
    migrationsModule: moduleUrl('../src/queue/sqlite/migrations.js'),
    queueModule: moduleUrl('../src/queue/sqlite/sqlite-queue.js'),
  };
  const worker = new Worker(CLAIM_LOOP_SOURCE, { eval: true, workerData });
  return new Promise((resolve, reject) => {
    worker.once('message', (ids: string[]) => resolve(ids));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`claim thread exited with ${code}`)));
  });
}

const CLAIM_LOOP_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { openDatabase } = await import(workerData.databaseModule);
  const { QUEUE_MIGRATIONS } = await import(workerData.migrationsModule);
  const { SqliteQueue } = await import(workerData.queueModule);
  const db = openDatabase(workerData.file, QUEUE_MIGRATIONS);
  const queue = new SqliteQueue(db, workerData.options);
  const claimed = [];
  for (;;) {
    const batch = await queue.claim('thread-' + workerData.limit, 60000, workerData.limit);
    if (batch.length === 0) break;
    for (const { task, lease } of batch) {
      claimed.push(task.id);
      if (!(await queue.complete(lease))) throw new Error('lease lost on ' + task.id);
    }
  }
  db.close();
  parentPort.postMessage(claimed);
})();
`;
