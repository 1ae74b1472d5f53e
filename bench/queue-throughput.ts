// Throughput of the SQLite queue: bulk enqueue, then claim (in batches) and complete every task,
// on a temp file. Called by the benchmark runner; prints nothing itself.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TaskInput } from '../src/queue/backend.js';
import { QUEUE_MIGRATIONS } from '../src/queue/sqlite/migrations.js';
import { SqliteQueue } from '../src/queue/sqlite/sqlite-queue.js';
import { openDatabase } from '../src/store/sqlite-database.js';

/** What to measure: how many no-op tasks, claimed how many at a time, at which durability. */
export interface SqliteThroughputOptions {
  tasks: number;
  batch: number;
  synchronous: 'FULL' | 'NORMAL';
}

/** Tasks per second through each phase. */
export interface SqliteThroughput {
  enqueuePerSec: number;
  /** Claimed and completed, one lease at a time per complete. */
  processPerSec: number;
}

/** Tasks stored per `enqueue` call (one transaction each) during the bulk phase. */
const ENQUEUE_CHUNK_TASKS = 1_000;
const LEASE_DURATION_MS = 60_000;

const QUEUE_OPTIONS = {
  maxAttempts: 3,
  maxStalledCount: 1,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
};

/**
 * Measures enqueue and claim+complete rates of `SqliteQueue` on a fresh temp database, removed
 * afterwards.
 */
export async function measureSqliteThroughput(
  opts: SqliteThroughputOptions,
): Promise<SqliteThroughput> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-bench-'));
  const db = openDatabase(path.join(dir, 'queue.db'), QUEUE_MIGRATIONS, {
    synchronous: opts.synchronous,
  });
  try {
    const queue = new SqliteQueue(db, QUEUE_OPTIONS);
    const enqueueMs = await timeMs(() => enqueueAll(queue, opts.tasks));
    const processMs = await timeMs(() => processAll(queue, opts.batch, opts.tasks));
    return {
      enqueuePerSec: perSecond(opts.tasks, enqueueMs),
      processPerSec: perSecond(opts.tasks, processMs),
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function enqueueAll(queue: SqliteQueue, count: number): Promise<void> {
  for (let start = 0; start < count; start += ENQUEUE_CHUNK_TASKS) {
    const size = Math.min(ENQUEUE_CHUNK_TASKS, count - start);
    const tasks: TaskInput[] = Array.from({ length: size }, (_, offset) => ({
      id: `bench-${start + offset}`,
      groupId: 'bench',
      payload: { segment: start + offset },
    }));
    await queue.enqueue(tasks);
  }
}

async function processAll(queue: SqliteQueue, batch: number, expected: number): Promise<void> {
  let processed = 0;
  for (;;) {
    const claimed = await queue.claim('bench-worker', LEASE_DURATION_MS, batch);
    if (claimed.length === 0) break;
    for (const { lease } of claimed) await queue.complete(lease);
    processed += claimed.length;
  }
  if (processed !== expected) throw new Error(`processed ${processed} of ${expected} tasks`);
}

async function timeMs(work: () => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return performance.now() - startedAt;
}

function perSecond(count: number, durationMs: number): number {
  return Math.round((count / durationMs) * 1_000);
}
