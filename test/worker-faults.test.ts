// Worker processes under faults: SIGKILL mid-task, saturation, drain on SIGTERM, timeouts that
// exhaust attempts and are redriven from the dead-letter queue, and permanent failures.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { segmentTaskId } from '../src/ids.js';
import type { TaskRecord } from '../src/queue/backend.js';
import { openEmbeddedBackend } from '../src/store/embedded.js';
import type { Backend } from '../src/store/backend.js';
import { ServiceProcess, TestServer, longText, makeDataDir } from './helpers/service.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const run = promisify(execFile);

/** Opens the data dir's queue and job store beside the running service, as another process. */
function openBeside(dataDir: string): Backend {
  return openEmbeddedBackend({
    dataDir,
    maxAttempts: 3,
    maxStalledCount: 2,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
  });
}

async function waitForTask(
  backend: Backend,
  taskId: string,
  test: (task: TaskRecord) => boolean,
): Promise<TaskRecord> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [task] = await backend.queue.getTasks([taskId]);
    if (task && test(task)) return task;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} never matched: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One segment that takes eSpeak a few seconds: a window wide enough to act mid-task. */
const SLOW_SEGMENT = {
  TTSQ_SEGMENT_MAX_CHARS: '100000',
  TTSQ_MAX_TEXT_CHARS: '100000',
  TTSQ_SHUTDOWN_GRACE_MS: '200',
};
const SLOW_TEXT = longText(12_000);

describe('worker processes under faults', () => {
  it('a worker SIGKILLed mid-task: the task runs again on another worker and the job succeeds', async () => {
    const server = await TestServer.start({
      ...SLOW_SEGMENT,
      TTSQ_WORKERS: '2',
      TTSQ_LEASE_DURATION_MS: '1500',
      TTSQ_STALLED_INTERVAL_MS: '200',
    });
    const beside = openBeside(server.dataDir);
    try {
      await waitForReadyWorkers(server, 2);
      const created = await server.submit({ text: SLOW_TEXT });
      const taskId = segmentTaskId(created.body.id, 0);
      const active = await waitForTask(beside, taskId, (task) => task.state === 'active');
      const victimPid = Number(active.leaseOwner?.split(':').at(-1));
      // Workers run at a lower CPU priority than the API.
      const apiNice = os.getPriority(server.process.child.pid);
      assert.equal(os.getPriority(victimPid), Math.min(19, apiNice + 10));
      process.kill(victimPid, 'SIGKILL');

      const job = await server.waitForJob(created.body.id);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      const [task] = await beside.queue.getTasks([taskId]);
      assert.equal(task?.stalledCount, 1);
      assert.notEqual(task?.leaseOwner, active.leaseOwner);
      assert.ok(
        server.process.logs.some(
          (line) => line.msg === 'task stalled' && line['taskId'] === taskId,
        ),
      );
      // The supervisor replaced the killed worker.
      await waitForReadyWorkers(server, 2);
    } finally {
      await beside.close();
      await server.stop();
    }
  });

  it('the API keeps answering while every worker is busy', async () => {
    const server = await TestServer.start({ ...SLOW_SEGMENT, TTSQ_WORKERS: '2' });
    try {
      await waitForReadyWorkers(server, 2);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await server.submit({ text: SLOW_TEXT })).body.id);
      await waitUntil(async () => (await server.json('/readyz')).body.queue.active === 2);

      for (let i = 0; i < 40; i++) {
        assert.equal((await server.json('/healthz')).status, 200);
        const job = await server.json(`/v1/jobs/${ids[i % ids.length]}`);
        assert.equal(job.status, 200);
      }
      // The workers were still saturated while the API answered.
      assert.equal((await server.json('/readyz')).body.queue.active, 2);
    } finally {
      await server.stop();
    }
  });

  it('SIGTERM drains a worker: its running task goes back to the queue and another worker finishes it', async () => {
    const server = await TestServer.start({ ...SLOW_SEGMENT, TTSQ_WORKERS: '0' });
    const env = { TTSQ_DATA_DIR: server.dataDir, ...SLOW_SEGMENT, TTSQ_SHUTDOWN_GRACE_MS: '100' };
    const beside = openBeside(server.dataDir);
    const first = new ServiceProcess(['worker'], env);
    let second: ServiceProcess | undefined;
    try {
      await first.waitForLog((line) => line.msg === 'worker started');
      const created = await server.submit({ text: SLOW_TEXT });
      const taskId = segmentTaskId(created.body.id, 0);
      await waitForTask(beside, taskId, (task) => task.state === 'active');

      assert.equal(await first.stop(), 0);
      const released = await waitForTask(beside, taskId, (task) => task.state === 'waiting');
      assert.equal(released.attemptsMade, 0);
      assert.equal((await server.json(`/v1/jobs/${created.body.id}`)).body.status, 'running');

      second = new ServiceProcess(['worker'], env);
      const job = await server.waitForJob(created.body.id);
      assert.equal(job.status, 'succeeded');
    } finally {
      await first.stop();
      await second?.stop();
      await beside.close();
      await server.stop();
    }
  });

  it('a synthesis past the task timeout is killed, retried, dead-lettered, and redriven by `ttsq dlq retry`', async () => {
    const dataDir = makeDataDir();
    const strict = await TestServer.start(
      {
        ...SLOW_SEGMENT,
        TTSQ_TASK_TIMEOUT_MS: '150',
        TTSQ_MAX_ATTEMPTS: '2',
        TTSQ_BACKOFF_BASE_MS: '50',
      },
      dataDir,
    );
    const created = await strict.submit({ text: SLOW_TEXT });
    const failed = await strict.waitForJob(created.body.id);
    await strict.stop();
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'TTSQ_ENGINE_TIMEOUT');
    assert.equal(failed.attempts, 2);

    const env = { ...process.env, TTSQ_DATA_DIR: dataDir };
    const listed = await run(process.execPath, [CLI, 'dlq', 'list'], { env });
    const dead = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { taskId: string; attemptsMade: number });
    const taskId = segmentTaskId(created.body.id, 0);
    assert.deepEqual(
      dead.map((entry) => entry.taskId),
      [taskId],
    );
    assert.equal(dead[0]?.attemptsMade, 2);

    await run(process.execPath, [CLI, 'dlq', 'retry', taskId], { env });
    const relaxed = await TestServer.start(SLOW_SEGMENT, dataDir);
    try {
      const job = await relaxed.waitForJob(created.body.id);
      assert.equal(job.status, 'succeeded');
      assert.equal(job.error, undefined);
      const after = await run(process.execPath, [CLI, 'dlq', 'list'], { env });
      assert.equal(after.stdout.trim(), '');
    } finally {
      await relaxed.stop();
    }
  });

  it('a task that cannot succeed fails its job at once, without retries', async () => {
    const server = await TestServer.start();
    const beside = openBeside(server.dataDir);
    try {
      await waitForReadyWorkers(server, 1);
      // Written straight to the store, as a tampered or stale queue message would arrive.
      const job = {
        id: '11111111-1111-4111-8111-111111111111',
        ownerId: 'default',
        status: 'queued' as const,
        request: {
          text: 'Hello.',
          voice: 'espeak:xx-none',
          format: 'wav' as const,
          speed: 1,
          priority: 100,
        },
        segmentCount: 2,
        segmentsDone: 0,
        attempts: 0,
        error: null,
        createdAt: Date.now(),
        startedAt: null,
        finishedAt: null,
        audio: null,
      };
      await beside.jobs.create(job, [
        {
          id: segmentTaskId(job.id, 0),
          groupId: job.id,
          payload: {
            jobId: job.id,
            index: 0,
            segmentCount: 2,
            text: 'Hello.',
            voice: 'espeak:xx-none',
            speed: 1,
          },
        },
        {
          id: segmentTaskId(job.id, 1),
          groupId: job.id,
          payload: { jobId: job.id, index: 1, text: 42 },
        },
      ]);
      const ended = await server.waitForJob(job.id);
      assert.equal(ended.status, 'failed');
      assert.ok(
        ['TTSQ_VOICE_UNKNOWN', 'TTSQ_TASK_PAYLOAD_INVALID'].includes(ended.error.code),
        ended.error.code,
      );
      const tasks = await beside.queue.getTasks([
        segmentTaskId(job.id, 0),
        segmentTaskId(job.id, 1),
      ]);
      const deadTask = tasks.find((task) => task.state === 'dead');
      assert.equal(deadTask?.attemptsMade, 1);
      assert.ok(tasks.every((task) => task.state === 'dead' || task.state === 'canceled'));
    } finally {
      await beside.close();
      await server.stop();
    }
  });
});

async function waitForReadyWorkers(server: TestServer, count: number): Promise<void> {
  await waitUntil(async () => (await server.json('/readyz')).body.workers.ready === count);
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
