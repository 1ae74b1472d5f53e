// The Redis (BullMQ) queue: the same backend conformance suite as SQLite, on a private
// redis-server, each test under a key prefix of its own.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import type { QueueOptions } from '../src/queue/backend.js';
import { RedisQueue } from '../src/queue/redis/redis-queue.js';
import { createLogger } from '../src/logger.js';
import {
  openRedisClients,
  waitForRedis,
  type RedisClients,
} from '../src/store/redis/redis-connection.js';
import type { ConformanceSubject } from './queue-conformance.js';
import { runQueueConformance } from './queue-conformance.js';
import { TestRedis } from './helpers/redis.js';

/** Checks for expired leases this often, so the suite's 100 ms leases are swept promptly. */
const STALLED_INTERVAL_MS = 40;

let redis: TestRedis;
before(async () => {
  redis = await TestRedis.start();
});
after(() => redis.stop());

runQueueConformance('redis', (options) => openSubject(options));

async function openClients(): Promise<RedisClients> {
  const clients = openRedisClients(redis.url, createLogger('silent', 'cli'));
  await waitForRedis(clients.commands, 5_000);
  return clients;
}

function newQueue(clients: RedisClients, prefix: string, options: QueueOptions): RedisQueue {
  return new RedisQueue(clients, {
    ...options,
    prefix,
    leaseDurationMs: 10_000,
    stalledIntervalMs: STALLED_INTERVAL_MS,
  });
}

/** A queue under a fresh prefix; reopening closes the queue and its connections first. */
async function openSubject(options: QueueOptions): Promise<ConformanceSubject> {
  const prefix = `t-${randomUUID()}`;
  let clients = await openClients();
  const close = async () => {
    await subject.backend.close();
    clients.commands.disconnect();
    clients.worker.disconnect();
  };
  const subject: ConformanceSubject = {
    backend: newQueue(clients, prefix, options),
    async reopen() {
      await close();
      clients = await openClients();
      subject.backend = newQueue(clients, prefix, options);
      return subject.backend;
    },
    async dispose() {
      await close();
    },
  };
  return subject;
}

void describe('redis queue specifics', () => {
  void it('refuses options out of range with a TypeError naming the option', async () => {
    const clients = await openClients();
    try {
      const options = { maxAttempts: 3, maxStalledCount: 1, backoffBaseMs: 10, backoffMaxMs: 20 };
      assert.throws(() => newQueue(clients, 'x', { ...options, maxAttempts: 0 }), /maxAttempts/);
      assert.throws(() => newQueue(clients, 'x', { ...options, backoffMaxMs: 1 }), /backoffMaxMs/);
    } finally {
      clients.commands.disconnect();
      clients.worker.disconnect();
    }
  });
});
