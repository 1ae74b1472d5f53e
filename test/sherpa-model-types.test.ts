// Kokoro, Kitten and Matcha directories prepared as sherpa-onnx publishes them, dropped into a
// running server's models directory and run by real sherpa-onnx in the worker's engine process;
// and incomplete layouts, which are listed with an error instead of reaching sherpa-onnx.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  SAMPLES_PER_FRAME,
  SAMPLES_PER_TOKEN,
  VOCOS_HOP,
  buildHifiganTestVocoder,
  buildMatchaTestModel,
  buildStyleTestModel,
  buildVocosTestVocoder,
  phonemeTokens,
  styleVoicesBin,
  writePreparedDir,
} from './helpers/onnx-test-models.js';
import { TestServer } from './helpers/service.js';
import { synthesize, voices, waitForVoice } from './helpers/voice-jobs.js';

const FAST_RESCAN = { TTSQ_VOICE_RESCAN_INTERVAL_MS: '200', TTSQ_BACKOFF_BASE_MS: '50' };
/** Style rows of the test Kokoro model: sentences longer than this are split by sherpa-onnx. */
const STYLE_ROWS = 64;
const STYLE_WIDTH = 8;

const KOKORO_METADATA = {
  model_type: 'kokoro',
  language: 'English',
  has_espeak: 1,
  sample_rate: 24_000,
  version: 1,
  voice: 'en-us',
  style_dim: `${STYLE_ROWS},1,${STYLE_WIDTH}`,
  n_speakers: 2,
  speaker_names: 'af,am',
};

const KITTEN_METADATA = {
  model_type: 'kitten-tts',
  language: 'English',
  has_espeak: 1,
  sample_rate: 24_000,
  voice: 'en-us',
  style_dim: `1,${STYLE_WIDTH}`,
  n_speakers: 2,
  speaker_names: 'expr-voice-2-m,expr-voice-2-f',
};

const MATCHA_METADATA = {
  model_type: 'matcha-tts',
  language: 'English',
  voice: 'en-us',
  has_espeak: 1,
  jieba: 0,
  n_speakers: 1,
  sample_rate: 22_050,
  use_eos_bos: 1,
  pad_id: 0,
};

function kokoroFiles(metadata: Record<string, string | number> = KOKORO_METADATA) {
  return {
    'tokens.txt': phonemeTokens(),
    'voices.bin': styleVoicesBin(2, STYLE_ROWS, STYLE_WIDTH),
    'model.onnx': buildStyleTestModel(metadata),
  };
}

function matchaFiles() {
  return {
    'tokens.txt': phonemeTokens(),
    'hifigan_v2.onnx': buildHifiganTestVocoder(),
    'model-steps-3.onnx': buildMatchaTestModel(MATCHA_METADATA),
  };
}

/** A copy of `record` without `key`. */
function without<T extends object>(record: T, key: keyof T): Partial<T> {
  const copy: Partial<T> = { ...record };
  delete copy[key];
  return copy;
}

function peak(samples: Int16Array): number {
  return samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0) / 32_767;
}

async function voiceError(
  server: TestServer,
  id: string,
): Promise<{ code: string; message: string }> {
  const voice = await waitForVoice(server, id);
  assert.ok(voice.error, `${id} should be listed with an error`);
  return voice.error as { code: string; message: string };
}

describe('Kokoro, Kitten and Matcha models prepared for sherpa-onnx', () => {
  let server: TestServer;
  let modelsDir: string;

  before(async () => {
    server = await TestServer.start(FAST_RESCAN);
    modelsDir = path.join(server.dataDir, 'models');
    fs.mkdirSync(modelsDir, { recursive: true });
    writePreparedDir(modelsDir, 'kokoro-en-v0_19', kokoroFiles());
    writePreparedDir(modelsDir, 'kitten-nano-en', {
      'tokens.txt': phonemeTokens(),
      'voices.bin': styleVoicesBin(2, 1, STYLE_WIDTH),
      'model.fp16.onnx': buildStyleTestModel(KITTEN_METADATA),
    });
    writePreparedDir(modelsDir, 'matcha-icefall-en_US-ljspeech', matchaFiles());
    writePreparedDir(modelsDir, 'matcha-vocos', {
      ...without(matchaFiles(), 'hifigan_v2.onnx'),
      'vocos-22khz-univ.onnx': buildVocosTestVocoder(),
    });
  });

  after(async () => {
    await server.stop();
  });

  it('a Kokoro v0.19 directory lists each style in voices.bin as a speaker and speaks as it', async () => {
    const main = await waitForVoice(server, 'sherpa:kokoro-en-v0_19');
    assert.equal(main.error, undefined, JSON.stringify(main.error));
    assert.equal(main.sampleRateHz, 24_000);
    assert.equal(main.language, 'en-us');
    assert.deepEqual(main.speakers, ['af', 'am']);
    const listed = await voices(server);
    assert.equal(listed.get('sherpa:kokoro-en-v0_19/am')?.speaker, 'am');
    assert.equal(listed.get('sherpa:kokoro-en-v0_19/af')?.sampleRateHz, 24_000);

    const short = await synthesize(server, 'sherpa:kokoro-en-v0_19/af', 'Hello world.');
    assert.equal(short.sampleRateHz, 24_000);
    assert.equal(short.samples.length % SAMPLES_PER_TOKEN, 0);
    assert.ok(Math.abs(peak(short.samples) - 0.3) < 0.01, `af peak ${peak(short.samples)}`);
    const long = await synthesize(server, 'sherpa:kokoro-en-v0_19/af', 'Hello world, hello again.');
    assert.ok(long.samples.length > short.samples.length * 1.5);

    // The style of the second speaker, and speed through the graph's speed input.
    const am = await synthesize(server, 'sherpa:kokoro-en-v0_19/am', 'Hello world.', 2);
    assert.equal(am.samples.length, short.samples.length / 2);
    assert.ok(Math.abs(peak(am.samples) - 0.4) < 0.01, `am peak ${peak(am.samples)}`);
  });

  it('a multi-lingual Kokoro directory (version 2) phonemizes through its lexicon files', async () => {
    writePreparedDir(modelsDir, 'kokoro-multi-lang', {
      ...kokoroFiles({ ...KOKORO_METADATA, version: 2 }),
      'lexicon-us-en.txt': 'hello h ə l ˈ o ʊ\nworld w ˈ ɜ ː l d\n',
    });
    const voice = await waitForVoice(server, 'sherpa:kokoro-multi-lang');
    assert.equal(voice.error, undefined, JSON.stringify(voice.error));
    const multi = await synthesize(server, 'sherpa:kokoro-multi-lang/am', 'Hello world.');
    const english = await synthesize(server, 'sherpa:kokoro-en-v0_19/am', 'Hello world.');
    // The lexicon spells both words as espeak-ng does, so the token counts agree.
    assert.equal(multi.samples.length, english.samples.length);
    assert.ok(Math.abs(peak(multi.samples) - 0.4) < 0.01, `peak ${peak(multi.samples)}`);
  });

  it('a Kitten directory speaks each of its speakers, as long as Kokoro for the same text', async () => {
    const main = await waitForVoice(server, 'sherpa:kitten-nano-en');
    assert.equal(main.error, undefined, JSON.stringify(main.error));
    assert.equal(main.sampleRateHz, 24_000);
    assert.deepEqual(main.speakers, ['expr-voice-2-m', 'expr-voice-2-f']);

    const kitten = await synthesize(server, 'sherpa:kitten-nano-en/expr-voice-2-f', 'Hello world.');
    const kokoro = await synthesize(server, 'sherpa:kokoro-en-v0_19', 'Hello world.');
    // Both wrap the same phonemes in one start and one end token.
    assert.equal(kitten.samples.length, kokoro.samples.length);
    assert.ok(Math.abs(peak(kitten.samples) - 0.4) < 0.01, `peak ${peak(kitten.samples)}`);
  });

  it('a Matcha acoustic model runs through the HiFi-GAN vocoder beside it', async () => {
    const voice = await waitForVoice(server, 'sherpa:matcha-icefall-en_US-ljspeech');
    assert.equal(voice.error, undefined, JSON.stringify(voice.error));
    assert.equal(voice.sampleRateHz, 22_050);
    assert.equal(voice.speakers, undefined);

    const audio = await synthesize(server, 'sherpa:matcha-icefall-en_US-ljspeech', 'Hello world.');
    assert.equal(audio.sampleRateHz, 22_050);
    // Kokoro's tokens: phonemes, a space after the full stop, start and end. Matcha's: bos,
    // phonemes, eos, with a blank around each; each token is SAMPLES_PER_TOKEN samples in both.
    const kokoro = await synthesize(server, 'sherpa:kokoro-en-v0_19', 'Hello world.');
    const kokoroTokens = kokoro.samples.length / SAMPLES_PER_TOKEN;
    assert.equal(audio.samples.length, (2 * (kokoroTokens - 1) + 1) * SAMPLES_PER_TOKEN);
    const fast = await synthesize(
      server,
      'sherpa:matcha-icefall-en_US-ljspeech',
      'Hello world.',
      2,
    );
    assert.equal(fast.samples.length, audio.samples.length / 2);
  });

  it('a Matcha model with a Vocos vocoder speaks through its inverse STFT', async () => {
    const voice = await waitForVoice(server, 'sherpa:matcha-vocos');
    assert.equal(voice.error, undefined, JSON.stringify(voice.error));
    const hifigan = await synthesize(
      server,
      'sherpa:matcha-icefall-en_US-ljspeech',
      'Hello world.',
    );
    const audio = await synthesize(server, 'sherpa:matcha-vocos', 'Hello world.');
    // The same mel frames; the inverse STFT (centred) makes one hop per frame but the last.
    const melFrames = hifigan.samples.length / SAMPLES_PER_FRAME;
    assert.equal(audio.samples.length, (melFrames - 1) * VOCOS_HOP);
    assert.ok(peak(audio.samples) > 0.1, `peak ${peak(audio.samples)}`);
  });

  it('incomplete layouts are listed with TTSQ_MODEL_INVALID and a message naming what is wrong', async () => {
    writePreparedDir(modelsDir, 'kokoro-no-voices', without(kokoroFiles(), 'voices.bin'));
    writePreparedDir(modelsDir, 'matcha-no-vocoder', without(matchaFiles(), 'hifigan_v2.onnx'));
    writePreparedDir(
      modelsDir,
      'kokoro-v2-no-lexicon',
      kokoroFiles({ ...KOKORO_METADATA, version: 2 }),
    );
    const noStyleDim = without(KOKORO_METADATA, 'style_dim');
    writePreparedDir(modelsDir, 'kokoro-no-style-dim', kokoroFiles(noStyleDim));
    writePreparedDir(modelsDir, 'kitten-short-voices', {
      'tokens.txt': phonemeTokens(),
      'voices.bin': styleVoicesBin(1, 1, STYLE_WIDTH),
      'model.onnx': buildStyleTestModel(KITTEN_METADATA),
    });

    writePreparedDir(modelsDir, 'kitten-typed-kitten', {
      'tokens.txt': phonemeTokens(),
      'voices.bin': styleVoicesBin(2, 1, STYLE_WIDTH),
      'model.onnx': buildStyleTestModel({ ...KITTEN_METADATA, model_type: 'kitten' }),
    });

    const expected: [string, RegExp][] = [
      ['sherpa:kitten-typed-kitten', /its Kitten models say "kitten-tts"/],
      ['sherpa:kokoro-no-voices', /voices\.bin is missing/],
      ['sherpa:matcha-no-vocoder', /needs a vocoder/],
      ['sherpa:kokoro-v2-no-lexicon', /needs its lexicon-\*\.txt files/],
      ['sherpa:kokoro-no-style-dim', /metadata "style_dim" is missing/],
      ['sherpa:kitten-short-voices', /voices\.bin has 32 bytes; 2 speakers of style_dim need 64/],
    ];
    for (const [id, message] of expected) {
      const error = await voiceError(server, id);
      assert.equal(error.code, 'TTSQ_MODEL_INVALID');
      assert.match(error.message, message);
    }
    const refused = await server.submit({ text: 'Hello.', voice: 'sherpa:kokoro-no-voices' });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'TTSQ_VOICE_UNAVAILABLE');
  });
});
