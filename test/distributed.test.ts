// Distributed mode end to end: real `ttsq serve --workers 0` API nodes and `ttsq worker`
// processes sharing a private redis-server, with workers SIGKILLed and Redis itself killed and
// restarted (AOF on) mid-run.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeWav } from '../src/audio/wav.js';
import { segmentTaskId } from '../src/ids.js';
import { createLogger } from '../src/logger.js';
import type { TaskRecord } from '../src/queue/backend.js';
import type { Backend } from '../src/store/backend.js';
import { openRedisBackend } from '../src/store/distributed.js';
import { TestRedis } from './helpers/redis.js';
import { ServiceProcess, TestServer, longText } from './helpers/service.js';

/** Short leases and a fast stalled check, so a killed worker's task comes back within seconds. */
const FAST_LEASES = {
  TTSQ_LEASE_DURATION_MS: '1500',
  TTSQ_STALLED_INTERVAL_MS: '250',
  TTSQ_SHUTDOWN_GRACE_MS: '200',
  TTSQ_POLL_INTERVAL_MS: '50',
};

/** One segment that takes eSpeak a few seconds: a window wide enough to act mid-task. */
const SLOW = { TTSQ_SEGMENT_MAX_CHARS: '100000', TTSQ_MAX_TEXT_CHARS: '100000' };

function redisEnv(redis: TestRedis, prefix: string): Record<string, string> {
  return { TTSQ_REDIS_URL: redis.url, TTSQ_REDIS_PREFIX: prefix, ...FAST_LEASES };
}

async function startWorker(env: Record<string, string>): Promise<ServiceProcess> {
  const worker = new ServiceProcess(['worker'], env);
  await worker.waitForLog((line) => line.msg === 'worker started');
  return worker;
}

/** The same Redis backend the service uses, opened beside it by the test. */
function openBeside(redis: TestRedis, prefix: string): Promise<Backend> {
  return openRedisBackend(
    {
      redisUrl: redis.url,
      redisPrefix: prefix,
      audioRetentionSeconds: 3_600,
      maxAttempts: 3,
      maxStalledCount: 2,
      backoffBaseMs: 100,
      backoffMaxMs: 1_000,
      leaseDurationMs: 1_500,
      stalledIntervalMs: 250,
    },
    createLogger('silent', 'cli'),
  );
}

async function waitForTask(
  backend: Backend,
  taskId: string,
  test: (task: TaskRecord) => boolean,
): Promise<TaskRecord> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [task] = await backend.queue.getTasks([taskId]);
    if (task && test(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId}: ${JSON.stringify(task)}`);
    await sleep(20);
  }
}

void describe('distributed mode on Redis', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await TestRedis.start();
  });
  after(() => redis.stop());

  void it('shares jobs between two API nodes; a job waits queued until a worker runs', async () => {
    const env = redisEnv(redis, `multi-${randomUUID()}`);
    // A worker publishes its voices once, then leaves: from now on no worker runs.
    await (await startWorker(env)).stop();
    const nodes = await Promise.all(
      [0, 1].map(() => TestServer.start({ ...env, TTSQ_WORKERS: '0' })),
    );
    const workers: ServiceProcess[] = [];
    try {
      const [first, second] = nodes as [TestServer, TestServer];
      const created = await first.submit({ text: 'Created on one node, read on another.' });
      assert.equal(created.status, 202);
      await sleep(500);
      const waiting = await second.json(`/v1/jobs/${created.body.id}`);
      assert.equal(waiting.body.status, 'queued');
      const ready = await second.json('/readyz');
      assert.equal(ready.body.backend, 'redis');
      assert.equal(ready.body.queue.waiting, 1);
      assert.ok(ready.body.queue.oldestWaitingAgeMs >= 400, JSON.stringify(ready.body.queue));

      workers.push(...(await Promise.all([startWorker(env), startWorker(env)])));
      const job = await second.waitForJob(created.body.id, 30_000);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      const fromFirst = Buffer.from(await (await fetch(first.url(job.audio.url))).arrayBuffer());
      const fromSecond = Buffer.from(await (await fetch(second.url(job.audio.url))).arrayBuffer());
      assert.ok(fromFirst.equals(fromSecond) && fromFirst.length === job.audio.sizeBytes);
      assert.ok(decodeWav(fromSecond).samples.some((sample) => Math.abs(sample) > 1000));
      const listed = await first.json('/v1/jobs?status=succeeded');
      assert.deepEqual(
        listed.body.jobs.map((each: { id: string }) => each.id),
        [created.body.id],
      );
    } finally {
      await Promise.all([...workers, ...nodes].map((each) => each.stop()));
    }
  });

  void it('reruns the task of a worker SIGKILLed mid-task on the other worker', async () => {
    const prefix = `kill-${randomUUID()}`;
    const env = { ...redisEnv(redis, prefix), ...SLOW };
    const workers = await Promise.all([startWorker(env), startWorker(env)]);
    const api = await TestServer.start({ ...env, TTSQ_WORKERS: '0' });
    const beside = await openBeside(redis, prefix);
    try {
      const created = await api.submit({ text: longText(12_000) });
      const taskId = segmentTaskId(created.body.id, 0);
      const active = await waitForTask(beside, taskId, (task) => task.state === 'active');
      const victimPid = Number(active.leaseOwner?.split(':').at(-1));
      assert.ok(workers.some((worker) => worker.child.pid === victimPid));
      process.kill(victimPid, 'SIGKILL');

      const job = await api.waitForJob(created.body.id, 60_000);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      const [task] = await beside.queue.getTasks([taskId]);
      assert.equal(task?.state, 'completed');
      assert.equal(task?.stalledCount, 1);
      assert.equal(task?.attemptsMade, 0, 'a stall is not a failed attempt');
    } finally {
      await beside.close();
      await Promise.all([api.stop(), ...workers.map((worker) => worker.stop())]);
    }
  });
});

void describe('distributed mode across a Redis restart', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await TestRedis.start({ appendOnly: true });
  });
  after(() => redis.stop());

  void it('completes every acknowledged job when Redis is killed and restarted with AOF', async () => {
    const env = redisEnv(redis, `restart-${randomUUID()}`);
    const workers = await Promise.all([startWorker(env), startWorker(env)]);
    const api = await TestServer.start({ ...env, TTSQ_WORKERS: '0' });
    const acknowledged: string[] = [];
    const refusals: { status: number; retryAfter: string | null; code: string }[] = [];
    const submit = async (index: number) => {
      const response = await api.submit({ text: `Job number ${index} survives a Redis restart.` });
      if (response.status === 202) acknowledged.push(response.body.id as string);
      else
        refusals.push({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          code: response.body.code,
        });
    };
    try {
      for (let index = 0; index < 8; index++) await submit(index);
      await redis.kill();
      for (let index = 8; index < 12; index++) await submit(index);
      const down = await api.json('/readyz');
      await redis.restart();
      await sleep(1_000);
      for (let index = 12; index < 20; index++) await submit(index);

      assert.equal(down.status, 503);
      assert.ok(refusals.length >= 4, `refused while down: ${JSON.stringify(refusals)}`);
      for (const refusal of refusals) {
        assert.deepEqual([refusal.status, refusal.code], [503, 'TTSQ_REDIS_UNAVAILABLE']);
        assert.ok(Number(refusal.retryAfter) > 0);
      }
      assert.ok(acknowledged.length >= 12, `acknowledged ${acknowledged.length}`);
      for (const id of acknowledged) {
        const job = await api.waitForJob(id, 60_000);
        assert.equal(job.status, 'succeeded', JSON.stringify(job));
      }
      assert.ok(
        workers.every((worker) => worker.child.exitCode === null),
        'workers reconnected',
      );
    } finally {
      await Promise.all([api.stop(), ...workers.map((worker) => worker.stop())]);
    }
  });
});
