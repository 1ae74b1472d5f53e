// Throughput of the Redis (BullMQ) queue through ttsq's RedisQueue, and of raw BullMQ doing the
// same work (bulk add, then fetch and complete one job at a time by hand), on a private
// redis-server. The ratio of the two is ttsq's overhead over BullMQ.

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { createLogger } from '../src/logger.js';
import type { TaskInput } from '../src/queue/backend.js';
import { RedisQueue } from '../src/queue/redis/redis-queue.js';
import { openRedisClients, waitForRedis } from '../src/store/redis/redis-connection.js';
import { TestRedis } from '../test/helpers/redis.js';

/** Tasks per second through each phase. */
export interface RedisThroughput {
  enqueuePerSec: number;
  /** Claimed and completed one at a time, each with its own lease. */
  processPerSec: number;
}

/** Both measures, on the same Redis. */
export interface RedisComparison {
  ttsq: RedisThroughput;
  bullmq: RedisThroughput;
}

export interface RedisThroughputOptions {
  tasks: number;
  /** Redis with appendonly yes and appendfsync everysec (the recommended production setting). */
  appendOnly: boolean;
}

const ENQUEUE_CHUNK_TASKS = 1_000;
const LEASE_DURATION_MS = 60_000;

/** Starts a redis-server, measures ttsq then raw BullMQ on it, and stops it. */
export async function measureRedisThroughput(
  options: RedisThroughputOptions,
): Promise<RedisComparison> {
  const redis = await TestRedis.start({ appendOnly: options.appendOnly, fsync: 'everysec' });
  try {
    const ttsq = await measureTtsq(redis.url, options.tasks);
    const bullmq = await measureRawBullmq(redis.url, options.tasks);
    return { ttsq, bullmq };
  } finally {
    await redis.stop();
  }
}

async function measureTtsq(url: string, count: number): Promise<RedisThroughput> {
  const clients = openRedisClients(url, createLogger('silent', 'cli'));
  await waitForRedis(clients.commands, 5_000);
  const queue = new RedisQueue(clients, {
    prefix: `bench-${randomUUID()}`,
    maxAttempts: 3,
    maxStalledCount: 1,
    backoffBaseMs: 1_000,
    backoffMaxMs: 60_000,
    leaseDurationMs: LEASE_DURATION_MS,
    stalledIntervalMs: 30_000,
  });
  try {
    const enqueueMs = await timeMs(async () => {
      for (let start = 0; start < count; start += ENQUEUE_CHUNK_TASKS) {
        await queue.enqueue(taskChunk(start, Math.min(ENQUEUE_CHUNK_TASKS, count - start)));
      }
    });
    const processMs = await timeMs(async () => {
      let processed = 0;
      for (;;) {
        const [claimed] = await queue.claim('bench-worker', LEASE_DURATION_MS);
        if (claimed === undefined) break;
        await queue.complete(claimed.lease);
        processed += 1;
      }
      if (processed !== count) throw new Error(`processed ${processed} of ${count} tasks`);
    });
    return {
      enqueuePerSec: perSecond(count, enqueueMs),
      processPerSec: perSecond(count, processMs),
    };
  } finally {
    await queue.close();
    clients.commands.disconnect();
    clients.worker.disconnect();
  }
}

/** The reference: BullMQ's own API with the same shape of work and the same options. */
async function measureRawBullmq(url: string, count: number): Promise<RedisThroughput> {
  const clients = openRedisClients(url, createLogger('silent', 'cli'));
  await waitForRedis(clients.commands, 5_000);
  const prefix = `bench-raw-${randomUUID()}`;
  const queue = new Queue('tasks', { connection: clients.commands, prefix });
  const worker = new Worker('tasks', null, {
    connection: clients.worker,
    prefix,
    autorun: false,
    lockDuration: LEASE_DURATION_MS,
  });
  try {
    const enqueueMs = await timeMs(async () => {
      for (let start = 0; start < count; start += ENQUEUE_CHUNK_TASKS) {
        const size = Math.min(ENQUEUE_CHUNK_TASKS, count - start);
        const jobs = taskChunk(start, size).map((task) => ({
          name: 'task',
          data: { groupId: task.groupId, payload: task.payload },
          opts: { jobId: `t.${task.id}`, priority: 100, attempts: 3 },
        }));
        await queue.addBulk(jobs);
      }
    });
    const processMs = await timeMs(async () => {
      for (let processed = 0; processed < count; processed += 1) {
        const token = randomUUID();
        const job = await worker.getNextJob(token, { block: false });
        if (!job) throw new Error(`bullmq ran dry after ${processed} of ${count} jobs`);
        await job.moveToCompleted(null, token, false);
      }
    });
    return {
      enqueuePerSec: perSecond(count, enqueueMs),
      processPerSec: perSecond(count, processMs),
    };
  } finally {
    await worker.close(true);
    await queue.close();
    clients.commands.disconnect();
    clients.worker.disconnect();
  }
}

function taskChunk(start: number, size: number): TaskInput[] {
  return Array.from({ length: size }, (_, offset) => ({
    id: `bench-${start + offset}`,
    groupId: 'bench',
    payload: { segment: start + offset },
  }));
}

async function timeMs(work: () => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return performance.now() - startedAt;
}

function perSecond(count: number, durationMs: number): number {
  return Math.round((count / durationMs) * 1_000);
}
