// The remote Coqui engine against a small HTTP server that speaks Coqui tts-server's protocol:
// its voices are listed, jobs are synthesized by it, and its failures and slowness are task
// attempts that retry and then fail the job with a clear code.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeWav, encodeWav } from '../src/audio/wav.js';
import { TestServer } from './helpers/service.js';

const SAMPLE_RATE_HZ = 24_000;
const SAMPLES_PER_CHAR = 100;
const SPEAKERS = ['p225', 'p226', 'Craig Gutsy'];

/** A stand-in for `tts-server`: `/voices` (MaryTTS style) and `/api/tts` returning WAV. */
class FakeCoquiServer {
  readonly requests: URLSearchParams[] = [];
  readonly #server = http.createServer((request, response) => this.#handle(request, response));
  readonly #failedOnce = new Set<string>();

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/voices') {
      response.end(SPEAKERS.map((speaker) => `${speaker} en u\n`).join(''));
      return;
    }
    if (url.pathname !== '/api/tts') {
      response.writeHead(404).end();
      return;
    }
    this.requests.push(url.searchParams);
    const text = url.searchParams.get('text') ?? '';
    if (text.includes('flaky') && !this.#failedOnce.has(text)) {
      this.#failedOnce.add(text);
      response
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"error":"CUDA out of memory"}');
      return;
    }
    const delayMs = text.includes('slow') ? 2_000 : 0;
    setTimeout(
      () => this.#speak(text, url.searchParams.get('speaker_id') ?? '', response),
      delayMs,
    );
  }

  /** A tone whose length follows the text and whose amplitude names the speaker. */
  #speak(text: string, speaker: string, response: http.ServerResponse): void {
    const amplitude = 1_000 * (1 + SPEAKERS.indexOf(speaker));
    const samples = Int16Array.from({ length: text.length * SAMPLES_PER_CHAR }, (_, i) =>
      Math.round(amplitude * Math.sin(i / 10)),
    );
    response
      .writeHead(200, { 'content-type': 'audio/wav' })
      .end(encodeWav(samples, SAMPLE_RATE_HZ));
  }
}

describe('remote Coqui tts-server engine', () => {
  const coqui = new FakeCoquiServer();
  let server: TestServer;

  before(async () => {
    const url = await coqui.start();
    server = await TestServer.start({
      TTSQ_COQUI_URL: url,
      TTSQ_COQUI_TIMEOUT_MS: '500',
      TTSQ_MAX_ATTEMPTS: '2',
      TTSQ_BACKOFF_BASE_MS: '50',
    });
  });

  after(async () => {
    await server.stop();
    await coqui.stop();
  });

  it("lists the server's speakers as voices with the server's sample rate", async () => {
    const { body } = await server.json('/v1/voices');
    const all = body.voices as {
      id: string;
      engine: string;
      sampleRateHz: number;
      language: string;
    }[];
    const remote = all.filter((voice) => voice.engine === 'coqui-server');
    assert.deepEqual(remote.map((voice) => voice.id).sort(), [
      'coqui-server:Craig_Gutsy',
      'coqui-server:p225',
      'coqui-server:p226',
    ]);
    assert.ok(
      remote.every((voice) => voice.sampleRateHz === SAMPLE_RATE_HZ && voice.language === 'en'),
    );
  });

  it('synthesizes a job through /api/tts with the speaker the voice names', async () => {
    const text = 'Hello from the GPU box.';
    const created = await server.submit({ text, voice: 'coqui-server:Craig_Gutsy' });
    const job = await server.waitForJob(created.body.id, 30_000);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));

    const audio = decodeWav(
      new Uint8Array(await (await fetch(server.url(`/v1/jobs/${job.id}/audio`))).arrayBuffer()),
    );
    assert.equal(audio.sampleRateHz, SAMPLE_RATE_HZ);
    assert.equal(audio.samples.length, text.length * SAMPLES_PER_CHAR);
    const sent = coqui.requests.find((query) => query.get('text') === text);
    assert.equal(sent?.get('speaker_id'), 'Craig Gutsy');
    assert.equal(sent?.get('style_wav'), '');
  });

  it('a server error is a failed attempt: the task retries and the job succeeds', async () => {
    const created = await server.submit({ text: 'A flaky moment.', voice: 'coqui-server:p225' });
    const job = await server.waitForJob(created.body.id, 30_000);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.attempts, 2);
  });

  it('a server slower than the timeout fails each attempt, then the job, with TTSQ_COQUI_TIMEOUT', async () => {
    const created = await server.submit({ text: 'A slow answer.', voice: 'coqui-server:p226' });
    const job = await server.waitForJob(created.body.id, 30_000);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'TTSQ_COQUI_TIMEOUT');
    assert.equal(job.attempts, 2);
  });

  it('refuses a speed the server cannot honour before queueing', async () => {
    const refused = await server.submit({ text: 'Quick.', voice: 'coqui-server:p225', speed: 1.5 });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'TTSQ_SPEED_UNSUPPORTED');
  });
});
