// Behaviour of the eSpeak NG engine itself, run in-process with the real WASM build.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PermanentTaskError } from '../src/errors.js';
import { EspeakEngine } from '../src/engines/espeak-engine.js';
import type { SynthesisRequest } from '../src/engines/engine.js';

const PARAGRAPH =
  'The quick brown fox jumps over the lazy dog. A queue keeps synthesis out of the request ' +
  'path, so one slow or huge request never blocks everyone else. Workers pull tasks, run the ' +
  'engine and store the audio, while clients poll, listen to events, or stream the result.';

function request(text: string, overrides: Partial<SynthesisRequest> = {}): SynthesisRequest {
  return { text, voice: 'en-us', speed: 1, ...overrides };
}

function durationSeconds(samples: Int16Array, sampleRateHz: number): number {
  return samples.length / sampleRateHz;
}

void describe('EspeakEngine', () => {
  const engine = new EspeakEngine();

  before(async () => {
    await engine.init();
  });

  after(async () => {
    await engine.close();
  });

  void it('names itself and its package version', () => {
    assert.equal(engine.name, 'espeak');
    assert.match(engine.version, /^espeak-ng-emscripten@\d+\.\d+\.\d+/);
  });

  void it('lists espeak:en-us at 22050 Hz among unique voice ids', async () => {
    const voices = await engine.voices();
    const enUs = voices.find((voice) => voice.id === 'espeak:en-us');
    assert.ok(enUs, 'espeak:en-us is listed');
    assert.equal(enUs.sampleRateHz, 22_050);
    assert.equal(enUs.language, 'en-us');
    assert.equal(enUs.engine, 'espeak');
    assert.deepEqual(enUs.capabilities, { speed: true, wordTimings: true });
    assert.ok(voices.length > 100);
    assert.equal(new Set(voices.map((voice) => voice.id)).size, voices.length);
  });

  void it('speaks "Hello world." for a plausible duration', async () => {
    const result = await engine.synthesize(request('Hello world.'));
    assert.equal(result.sampleRateHz, 22_050);
    const seconds = durationSeconds(result.samples, result.sampleRateHz);
    assert.ok(seconds > 0.5 && seconds < 3, `duration ${seconds} s`);
    assert.ok(
      result.samples.some((sample) => Math.abs(sample) > 1000),
      'the audio is not silent',
    );
  });

  void it('gives a longer text proportionally more audio', async () => {
    const short = await engine.synthesize(request('The quick brown fox jumps over the lazy dog.'));
    const long = await engine.synthesize(request(PARAGRAPH));
    const ratio = long.samples.length / short.samples.length;
    assert.ok(ratio > 3 && ratio < 10, `ratio ${ratio}`);
  });

  void it('speaks clearly faster at speed 2, and the rate resets on the next call', async () => {
    const normal = await engine.synthesize(request(PARAGRAPH));
    const fast = await engine.synthesize(request(PARAGRAPH, { speed: 2 }));
    const normalAgain = await engine.synthesize(request(PARAGRAPH));
    const ratio = fast.samples.length / normal.samples.length;
    assert.ok(ratio < 0.7, `speed 2 gives ${ratio} of the audio`);
    // eSpeak's output length varies by a fraction of a percent between identical calls.
    const drift = Math.abs(normalAgain.samples.length / normal.samples.length - 1);
    assert.ok(drift < 0.02, `speed 1 after speed 2 differs by ${drift}`);
  });

  void it('marks words in order, at their offsets in the text', async () => {
    const text = 'Hello brave new world. How are you?';
    const { marks } = await engine.synthesize(request(text));
    const words = marks.filter((mark) => mark.type === 'word');
    const spoken = words.map((mark) =>
      text.slice(mark.textOffset, mark.textOffset + mark.textLength),
    );
    assert.deepEqual(spoken, ['Hello', 'brave', 'new', 'world', 'How', 'are', 'you']);
    for (let i = 1; i < words.length; i++) {
      assert.ok(words[i]!.audioOffsetMs > words[i - 1]!.audioOffsetMs, 'audio offsets increase');
    }
    const sentences = marks.filter((mark) => mark.type === 'sentence');
    assert.deepEqual(
      sentences.map((mark) => text.slice(mark.textOffset, mark.textOffset + mark.textLength)),
      ['Hello brave new world.', 'How are you?'],
    );
  });

  void it('counts mark offsets in UTF-16 code units past astral characters', async () => {
    const text = 'Rocket 🚀 launches today.';
    const { marks } = await engine.synthesize(request(text));
    const last = marks.filter((mark) => mark.type === 'word').at(-1);
    assert.ok(last);
    assert.equal(text.slice(last.textOffset, last.textOffset + last.textLength), 'today');
  });

  void it('returns zero samples for whitespace-only text', async () => {
    const result = await engine.synthesize(request('  \n\t '));
    assert.equal(result.samples.length, 0);
    assert.deepEqual(result.marks, []);
  });

  void it('refuses an unknown voice with a permanent TTSQ_VOICE_UNKNOWN', async () => {
    await assert.rejects(engine.synthesize(request('Hello.', { voice: 'xx-nowhere' })), (error) => {
      assert.ok(error instanceof PermanentTaskError);
      assert.equal(error.code, 'TTSQ_VOICE_UNKNOWN');
      return true;
    });
  });

  void it('speaks another language by its voice id', async () => {
    const result = await engine.synthesize(request('Bonjour tout le monde.', { voice: 'fr' }));
    assert.ok(durationSeconds(result.samples, result.sampleRateHz) > 0.5);
  });
});
