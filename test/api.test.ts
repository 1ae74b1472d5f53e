// The HTTP API end to end: a real `ttsq serve` with a real worker process and eSpeak NG.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeWav } from '../src/audio/wav.js';
import { TestServer, longText, makeDataDir } from './helpers/service.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const run = promisify(execFile);

describe('HTTP API', () => {
  let server: TestServer;

  before(async () => {
    server = await TestServer.start({ TTSQ_MAX_TEXT_CHARS: '30000', TTSQ_MAX_BODY_BYTES: '65536' });
  });
  after(() => server.stop());

  it('answers 202 with a Location, then the job succeeds with a WAV whose duration fits the text', async () => {
    const text = 'Hello from ttsq. This sentence is spoken by eSpeak in a worker process.';
    const created = await server.submit({ text });
    assert.equal(created.status, 202);
    assert.equal(created.headers.get('location'), `/v1/jobs/${created.body.id}`);
    assert.equal(created.body.status, 'queued');
    assert.equal(created.body.voice, 'espeak:en-us');
    assert.match(created.body.id, /^[0-9a-f-]{36}$/);

    const job = await server.waitForJob(created.body.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.progress, 1);
    assert.ok(job.attempts >= 1);

    const response = await fetch(server.url(job.audio.url));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'audio/wav');
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(Number(response.headers.get('content-length')), bytes.length);
    assert.equal(job.audio.sizeBytes, bytes.length);

    const wav = decodeWav(bytes);
    const seconds = wav.samples.length / wav.sampleRateHz;
    // 12 words at a normal speaking rate take roughly 3–8 seconds.
    assert.ok(seconds > 2.5 && seconds < 10, `duration ${seconds}s`);
    assert.ok(Math.abs(job.audio.durationMs - seconds * 1000) < 2);
    assert.ok(
      wav.samples.some((sample) => Math.abs(sample) > 1000),
      'audio is not silent',
    );
  });

  it('assembles a long text from many segments in order, with the right total length', async () => {
    const text = longText(3000);
    const created = await server.submit({ text, priority: 5 });
    assert.equal(created.status, 202);
    assert.ok(created.body.segments.total >= 6, `segments: ${created.body.segments.total}`);
    const job = await server.waitForJob(created.body.id);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.segments.done, job.segments.total);
    // About 500 words: far longer than one sentence, shorter than 5 minutes.
    assert.ok(
      job.audio.durationMs > 60_000 && job.audio.durationMs < 300_000,
      `${job.audio.durationMs} ms`,
    );
  });

  it('serves byte ranges of the audio and refuses ranges past its end', async () => {
    const created = await server.submit({ text: 'Ranges of bytes.' });
    const job = await server.waitForJob(created.body.id);
    const whole = Buffer.from(await (await fetch(server.url(job.audio.url))).arrayBuffer());

    const partial = await fetch(server.url(job.audio.url), { headers: { range: 'bytes=0-43' } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-range'), `bytes 0-43/${whole.length}`);
    assert.deepEqual(Buffer.from(await partial.arrayBuffer()), whole.subarray(0, 44));

    const suffix = await fetch(server.url(job.audio.url), { headers: { range: 'bytes=-10' } });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), whole.subarray(whole.length - 10));

    const outside = await fetch(server.url(job.audio.url), {
      headers: { range: `bytes=${whole.length}-` },
    });
    assert.equal(outside.status, 416);
    assert.equal(((await outside.json()) as { code: string }).code, 'TTSQ_RANGE_UNSATISFIABLE');
  });

  it('answers 409 with Retry-After for audio that is not ready, and ?wait waits for it', async () => {
    const busy = await server.submit({ text: longText(6000) });
    const created = await server.submit({ text: 'Wait for me.', priority: 1000 });
    const early = await server.json(`/v1/jobs/${created.body.id}/audio`);
    assert.equal(early.status, 409);
    assert.equal(early.body.code, 'TTSQ_AUDIO_NOT_READY');
    assert.equal(early.headers.get('retry-after'), '1');

    const waited = await fetch(server.url(`/v1/jobs/${created.body.id}/audio?wait=60`));
    assert.equal(waited.status, 200);
    assert.equal(waited.headers.get('content-type'), 'audio/wav');
    await server.waitForJob(busy.body.id);

    const tooLong = await server.json(`/v1/jobs/${created.body.id}/audio?wait=100000`);
    assert.equal(tooLong.status, 400);
  });

  it('cancels a queued job and a running job; an ended job cannot be canceled', async () => {
    const running = await server.submit({ text: longText(12000) });
    const queued = await server.submit({ text: 'Never spoken.', priority: 1000 });

    const canceledQueued = await server.json(`/v1/jobs/${queued.body.id}`, { method: 'DELETE' });
    assert.equal(canceledQueued.status, 200);
    assert.equal(canceledQueued.body.status, 'canceled');

    await waitUntil(
      async () => (await server.json(`/v1/jobs/${running.body.id}`)).body.status === 'running',
    );
    const canceledRunning = await server.json(`/v1/jobs/${running.body.id}`, { method: 'DELETE' });
    assert.equal(canceledRunning.body.status, 'canceled');

    const again = await server.json(`/v1/jobs/${running.body.id}`, { method: 'DELETE' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'TTSQ_JOB_FINISHED');
    const audio = await server.json(`/v1/jobs/${running.body.id}/audio`);
    assert.equal(audio.body.code, 'TTSQ_JOB_CANCELED');

    // The worker moves on: a new job still completes, and the canceled ones stay canceled.
    const next = await server.waitForJob((await server.submit({ text: 'Still working.' })).body.id);
    assert.equal(next.status, 'succeeded');
    assert.equal((await server.json(`/v1/jobs/${queued.body.id}`)).body.status, 'canceled');
    assert.equal((await server.json(`/v1/jobs/${running.body.id}`)).body.status, 'canceled');
  });

  it('lists jobs newest first with cursor pagination and a status filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await server.submit({ text: `Listed job ${i}.` })).body.id);
    const first = await server.json('/v1/jobs?limit=2');
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.jobs.map((job: { id: string }) => job.id),
      [ids[2], ids[1]],
    );
    assert.ok(first.body.nextCursor);

    const second = await server.json(`/v1/jobs?limit=2&cursor=${first.body.nextCursor}`);
    assert.equal(second.body.jobs[0].id, ids[0]);

    const canceled = await server.json('/v1/jobs?status=canceled&limit=100');
    assert.ok(canceled.body.jobs.every((job: { status: string }) => job.status === 'canceled'));
    assert.equal((await server.json('/v1/jobs?limit=0')).body.code, 'TTSQ_QUERYSTRING_INVALID');
    assert.equal((await server.json('/v1/jobs?cursor=nonsense')).body.code, 'TTSQ_CURSOR_INVALID');
  });

  it('answers 404 for unknown ids and routes', async () => {
    const unknown = await server.json('/v1/jobs/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'TTSQ_JOB_NOT_FOUND');
    assert.equal((await server.json('/v1/jobs/not-an-id')).status, 404);
    assert.equal((await server.json('/v1/jobs/not-an-id/audio')).status, 404);
    const route = await server.json('/v2/nothing');
    assert.deepEqual(Object.keys(route.body).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.equal(route.body.code, 'TTSQ_ROUTE_NOT_FOUND');
  });

  it('gives every bad input its 4xx and code, and queues nothing', async () => {
    const before = await server.json('/v1/jobs?limit=100');
    const queueBefore = (await server.json('/readyz')).body.queue;
    const cases: [string, unknown, number, string][] = [
      ['empty text', { text: '' }, 400, 'TTSQ_TEXT_EMPTY'],
      ['whitespace text', { text: '  \n\t ' }, 400, 'TTSQ_TEXT_EMPTY'],
      ['missing text', { voice: 'espeak:en-us' }, 400, 'TTSQ_BODY_INVALID'],
      ['numeric text', { text: 42 }, 400, 'TTSQ_BODY_INVALID'],
      ['array text', { text: ['a'] }, 400, 'TTSQ_BODY_INVALID'],
      ['text over the limit', { text: 'a'.repeat(30001) }, 400, 'TTSQ_TEXT_TOO_LONG'],
      ['unknown voice', { text: 'hi', voice: 'espeak:xx-nowhere' }, 400, 'TTSQ_VOICE_UNKNOWN'],
      ['unknown engine', { text: 'hi', voice: 'nope:voice' }, 400, 'TTSQ_VOICE_UNKNOWN'],
      ['speed out of range', { text: 'hi', speed: 10 }, 400, 'TTSQ_BODY_INVALID'],
      ['speed as a string', { text: 'hi', speed: '1' }, 400, 'TTSQ_BODY_INVALID'],
      ['unsupported format', { text: 'hi', format: 'flac' }, 400, 'TTSQ_BODY_INVALID'],
      ['priority out of range', { text: 'hi', priority: 0 }, 400, 'TTSQ_BODY_INVALID'],
      ['unknown field', { text: 'hi', colour: 'blue' }, 400, 'TTSQ_BODY_INVALID'],
      ['not an object', '"just a string"', 400, 'TTSQ_BODY_INVALID'],
      ['malformed JSON', '{"text": "hi"', 400, 'TTSQ_JSON_INVALID'],
      ['body over the size limit', { text: 'a'.repeat(70_000) }, 413, 'TTSQ_BODY_TOO_LARGE'],
    ];
    for (const [name, body, status, code] of cases) {
      const response = await server.submit(body);
      assert.equal(response.status, status, `${name}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, code, name);
      assert.equal(response.body.statusCode, status, name);
      assert.equal(typeof response.body.message, 'string', name);
    }
    const wrongType = await server.json('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.body.code, 'TTSQ_MEDIA_TYPE_UNSUPPORTED');

    const afterList = await server.json('/v1/jobs?limit=100');
    assert.deepEqual(
      afterList.body.jobs.map((j: { id: string }) => j.id),
      before.body.jobs.map((j: { id: string }) => j.id),
    );
    const queueAfter = (await server.json('/readyz')).body.queue;
    assert.equal(
      queueAfter.waiting + queueAfter.active + queueAfter.completed,
      queueBefore.waiting + queueBefore.active + queueBefore.completed,
    );
  });

  it('lists voices and reports health and readiness', async () => {
    const voices = await server.json('/v1/voices');
    const english = voices.body.voices.find((voice: { id: string }) => voice.id === 'espeak:en-us');
    assert.equal(english.sampleRateHz, 22050);
    assert.equal(english.capabilities.speed, true);
    assert.ok(voices.body.voices.length > 50);

    assert.deepEqual((await server.json('/healthz')).body, { status: 'ok' });
    const ready = await server.json('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    assert.deepEqual(ready.body.workers, { ready: 1, configured: 1 });
  });

  it('`ttsq say` submits a text, reports progress and writes the WAV', async () => {
    const output = path.join(makeDataDir(), 'say.wav');
    const { stderr } = await run(process.execPath, [
      CLI,
      'say',
      'Said',
      'from',
      'the',
      'CLI.',
      '-o',
      output,
      '--url',
      server.baseUrl,
    ]);
    assert.match(stderr, /queued/);
    assert.match(stderr, /succeeded 100%/);
    const wav = decodeWav(fs.readFileSync(output));
    assert.ok(wav.samples.length / wav.sampleRateHz > 0.5);

    const refused = await run(process.execPath, [
      CLI,
      'say',
      'Hi.',
      '-o',
      output,
      '--url',
      server.baseUrl,
      '--voice',
      'espeak:nope',
    ]).catch((error: { code: number; stderr: string }) => error);
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /TTSQ_VOICE_UNKNOWN/);
  });

  it('speaks faster at a higher speed', async () => {
    const text = 'Speed changes how long this sentence takes to say.';
    const [normal, fast] = await Promise.all([
      server.submit({ text }),
      server.submit({ text, speed: 2 }),
    ]);
    const normalJob = await server.waitForJob(normal.body.id);
    const fastJob = await server.waitForJob(fast.body.id);
    assert.ok(fastJob.audio.durationMs < normalJob.audio.durationMs * 0.75);
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
