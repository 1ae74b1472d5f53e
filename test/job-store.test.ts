// The embedded job store: a job and its tasks commit together, segments count once, and a job
// ends once.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { segmentTaskId } from '../src/ids.js';
import type { JobRecord } from '../src/jobs/types.js';
import type { Backend } from '../src/store/backend.js';
import { openEmbeddedBackend } from '../src/store/embedded.js';
import { makeDataDir } from './helpers/service.js';

const SETTINGS = { maxAttempts: 3, maxStalledCount: 1, backoffBaseMs: 10, backoffMaxMs: 20 };

function job(id: string, createdAt: number, segmentCount = 2): JobRecord {
  return {
    id,
    ownerId: 'default',
    status: 'queued',
    request: { text: 'A. B.', voice: 'espeak:en-us', format: 'wav', speed: 1, priority: 100 },
    segmentCount,
    segmentsDone: 0,
    attempts: 0,
    error: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    audio: null,
  };
}

const tasksOf = (record: JobRecord) =>
  Array.from({ length: record.segmentCount }, (_, index) => ({
    id: segmentTaskId(record.id, index),
    groupId: record.id,
    payload: { index },
  }));

const segment = (index: number) => ({
  index,
  audioKey: `jobs/x/segments/${index}.wav`,
  sampleRateHz: 22050,
  sampleCount: 10,
  cacheKey: 'k',
});

describe('embedded job store', () => {
  let dataDir: string;
  let backend: Backend;

  beforeEach(() => {
    dataDir = makeDataDir();
    backend = openEmbeddedBackend({ dataDir, ...SETTINGS });
  });
  afterEach(() => backend.close());

  it('stores a job and its tasks together, durably', async () => {
    const record = job('a', 1);
    await backend.jobs.create(record, tasksOf(record));
    await backend.close();
    backend = openEmbeddedBackend({ dataDir, ...SETTINGS });
    assert.deepEqual(await backend.jobs.get('a'), record);
    assert.equal((await backend.queue.getTasks(tasksOf(record).map((t) => t.id))).length, 2);
  });

  it('stores neither the job nor any task when the tasks cannot be enqueued', async () => {
    const record = job('b', 1);
    const bad = [...tasksOf(record), { id: 'b.x', groupId: 'b', payload: {}, priority: -5 }];
    await assert.rejects(() => backend.jobs.create(record, bad));
    assert.equal(await backend.jobs.get('b'), null);
    assert.deepEqual(await backend.queue.getTasks(tasksOf(record).map((t) => t.id)), []);
  });

  it('counts a segment once however often it is recorded, and reports the last one', async () => {
    const record = job('c', 1);
    await backend.jobs.create(record, tasksOf(record));
    assert.deepEqual(await backend.jobs.recordSegment('c', segment(0)), { allDone: false });
    assert.deepEqual(await backend.jobs.recordSegment('c', segment(0)), { allDone: false });
    assert.deepEqual(await backend.jobs.recordSegment('c', segment(1)), { allDone: true });
    assert.deepEqual(await backend.jobs.recordSegment('c', segment(1)), { allDone: true });
    assert.equal((await backend.jobs.get('c'))?.segmentsDone, 2);
    assert.deepEqual(
      (await backend.jobs.segments('c')).map((s) => s.index),
      [0, 1],
    );
  });

  it('ends a job once; a failed job can be reopened, a canceled one cannot', async () => {
    for (const record of [job('d', 1), job('e', 2)])
      await backend.jobs.create(record, tasksOf(record));
    await backend.jobs.noteAttemptStarted('d', 5);
    assert.equal((await backend.jobs.get('d'))?.status, 'running');
    assert.equal(
      await backend.jobs.finish('d', { status: 'failed', error: { code: 'X', message: 'm' } }, 9),
      true,
    );
    assert.equal(await backend.jobs.finish('d', { status: 'canceled' }, 10), false);
    assert.equal(await backend.jobs.reopen('d'), true);
    assert.equal((await backend.jobs.get('d'))?.status, 'running');
    assert.equal((await backend.jobs.get('d'))?.error, null);

    assert.equal(await backend.jobs.finish('e', { status: 'canceled' }, 10), true);
    assert.equal(await backend.jobs.reopen('e'), false);
    assert.deepEqual(await backend.jobs.recordSegment('e', segment(0)), { allDone: false });
  });

  it('lists jobs newest first, page by page, filtered by status', async () => {
    for (let i = 0; i < 5; i++)
      await backend.jobs.create(job(`j${i}`, 100 + i, 1), tasksOf(job(`j${i}`, 100 + i, 1)));
    await backend.jobs.finish('j3', { status: 'canceled' }, 200);
    const first = await backend.jobs.list({ ownerId: 'default', limit: 2 });
    assert.deepEqual(
      first.items.map((j) => j.id),
      ['j4', 'j3'],
    );
    assert.ok(first.nextCursor);
    const second = await backend.jobs.list({
      ownerId: 'default',
      limit: 10,
      cursor: first.nextCursor,
    });
    assert.deepEqual(
      second.items.map((j) => j.id),
      ['j2', 'j1', 'j0'],
    );
    assert.equal(second.nextCursor, null);
    const canceled = await backend.jobs.list({ ownerId: 'default', limit: 10, status: 'canceled' });
    assert.deepEqual(
      canceled.items.map((j) => j.id),
      ['j3'],
    );
    assert.deepEqual((await backend.jobs.list({ ownerId: 'someone-else', limit: 10 })).items, []);
  });
});
