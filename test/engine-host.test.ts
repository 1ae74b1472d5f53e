// The engine host runs synthesis in a worker thread: the main loop keeps ticking, and a hung or
// aborted synthesis is killed and replaced without the caller losing its engine.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PermanentTaskError, TransientTaskError } from '../src/errors.js';
import { EngineHost } from '../src/engines/engine-host.js';
import type { SynthesisRequest } from '../src/engines/engine.js';

const PARAGRAPH =
  'The quick brown fox jumps over the lazy dog. A queue keeps synthesis out of the request ' +
  'path, so one slow or huge request never blocks everyone else. Workers pull tasks, run the ' +
  'engine and store the audio, while clients poll, listen to events, or stream the result. ';

/** Long enough to keep the engine busy for seconds. */
const LONG_TEXT = PARAGRAPH.repeat(20);
const TIMEOUT_MS = 60_000;

function request(text: string, overrides: Partial<SynthesisRequest> = {}): SynthesisRequest {
  return { text, voice: 'en-us', speed: 1, ...overrides };
}

function hasCode(code: string, type?: new (...args: never[]) => Error) {
  return (error: unknown): boolean => {
    if (type) assert.ok(error instanceof type, `expected a ${type.name}, got ${String(error)}`);
    assert.equal((error as { code?: unknown }).code, code);
    return true;
  };
}

void describe('EngineHost', () => {
  const host = new EngineHost({ engine: 'espeak' });

  before(async () => {
    const ready = await host.start();
    assert.ok(ready.voices.some((voice) => voice.id === 'espeak:en-us'));
    assert.equal(ready.version, host.version);
  });

  after(async () => {
    await host.close();
  });

  void it('synthesizes through the engine thread', async () => {
    const result = await host.synthesize(request('Hello world.'), { timeoutMs: TIMEOUT_MS });
    assert.ok(result.samples instanceof Int16Array);
    assert.equal(result.sampleRateHz, 22_050);
    const seconds = result.samples.length / result.sampleRateHz;
    assert.ok(seconds > 0.5 && seconds < 3, `duration ${seconds} s`);
    assert.ok(result.marks.some((mark) => mark.type === 'word'));
  });

  void it('lists the voices the thread reports', async () => {
    const voices = await host.voices();
    assert.ok(voices.some((voice) => voice.id === 'espeak:fr'));
  });

  void it('keeps the main event loop ticking during a multi-second synthesis', async () => {
    let ticks = 0;
    let lastTickAt = performance.now();
    let longestGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - lastTickAt);
      lastTickAt = now;
      ticks++;
    }, 10);
    const startedAt = performance.now();
    try {
      await host.synthesize(request(LONG_TEXT), { timeoutMs: TIMEOUT_MS });
    } finally {
      clearInterval(ticker);
    }

    const elapsedMs = Math.round(performance.now() - startedAt);
    assert.ok(elapsedMs > 1000, `synthesis took ${elapsedMs} ms, too short to prove anything`);
    // A blocked loop would show one gap as long as the synthesis; a free one only scheduling noise.
    const gap = `longest gap ${Math.round(longestGapMs)} ms, ${ticks} ticks in ${elapsedMs} ms`;
    assert.ok(longestGapMs < Math.min(500, elapsedMs / 2), gap);
    assert.ok(ticks > elapsedMs / 10 / 4, gap);
  });

  void it('stops a synthesis past its timeout with TTSQ_ENGINE_TIMEOUT and recovers', async () => {
    await assert.rejects(
      host.synthesize(request(LONG_TEXT), { timeoutMs: 50 }),
      hasCode('TTSQ_ENGINE_TIMEOUT', TransientTaskError),
    );
    const result = await host.synthesize(request('Still here.'), { timeoutMs: TIMEOUT_MS });
    assert.ok(result.samples.length > 0);
  });

  void it('stops an aborted synthesis with TTSQ_TASK_ABORTED and recovers', async () => {
    const controller = new AbortController();
    const call = host.synthesize(request(LONG_TEXT), {
      timeoutMs: TIMEOUT_MS,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(call, hasCode('TTSQ_TASK_ABORTED'));
    const result = await host.synthesize(request('Still here.'), { timeoutMs: TIMEOUT_MS });
    assert.ok(result.samples.length > 0);
  });

  void it('rejects at once a call whose signal is already aborted', async () => {
    const signal = AbortSignal.abort();
    await assert.rejects(
      host.synthesize(request('Hello.'), { timeoutMs: TIMEOUT_MS, signal }),
      hasCode('TTSQ_TASK_ABORTED'),
    );
  });

  void it('runs concurrent calls one after the other, each with its own result', async () => {
    const texts = ['One.', 'Two words.', 'Three more words.'];
    const results = await Promise.all(
      texts.map((text) => host.synthesize(request(text), { timeoutMs: TIMEOUT_MS })),
    );
    const lengths = results.map((result) => result.samples.length);
    assert.ok(lengths[0]! < lengths[2]!, `lengths ${lengths.join(', ')}`);
  });

  void it('replaces the thread after an unexpected TTSQ_ENGINE_FAILED', async () => {
    const notText = { text: 42, voice: 'en-us', speed: 1 } as unknown as SynthesisRequest;
    await assert.rejects(
      host.synthesize(notText, { timeoutMs: TIMEOUT_MS }),
      hasCode('TTSQ_ENGINE_FAILED', TransientTaskError),
    );
    const result = await host.synthesize(request('Still here.'), { timeoutMs: TIMEOUT_MS });
    assert.ok(result.samples.length > 0);
  });

  void it('carries an unknown voice error across the thread as permanent', async () => {
    await assert.rejects(
      host.synthesize(request('Hello.', { voice: 'xx-nowhere' }), { timeoutMs: TIMEOUT_MS }),
      hasCode('TTSQ_VOICE_UNKNOWN', PermanentTaskError),
    );
  });
});

void describe('EngineHost start-up', () => {
  void it('fails to start an unknown engine with TTSQ_ENGINE_INIT_FAILED', async () => {
    const host = new EngineHost({ engine: 'no-such-engine' });
    try {
      await assert.rejects(host.start(), hasCode('TTSQ_ENGINE_INIT_FAILED', TransientTaskError));
    } finally {
      await host.close();
    }
  });

  void it('refuses calls after close with TTSQ_ENGINE_CLOSED', async () => {
    const host = new EngineHost({ engine: 'espeak' });
    await host.start();
    await host.close();
    await assert.rejects(
      host.synthesize(request('Hello.'), { timeoutMs: TIMEOUT_MS }),
      hasCode('TTSQ_ENGINE_CLOSED', TransientTaskError),
    );
  });
});
