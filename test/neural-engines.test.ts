// Neural engines end to end: Piper voices, Coqui VITS exports and prepared sherpa-onnx models
// dropped into a running server's models directory, run by real sherpa-onnx in a child process of
// the worker; broken and crashing models; and a remote Coqui tts-server.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { segmentTaskId } from '../src/ids.js';
import { openEmbeddedBackend } from '../src/store/embedded.js';
import {
  SAMPLES_PER_TOKEN,
  buildTestModel,
  characterTokens,
  coquiVitsConfig,
  echoedTokenIds,
  piperPhonemeIdMap,
  piperVoiceJson,
  writeCoquiModel,
  writePiperVoice,
  writeSherpaModel,
} from './helpers/onnx-test-models.js';
import { TestServer } from './helpers/service.js';
import { synthesize, voices, waitForVoice } from './helpers/voice-jobs.js';

const FAST_RESCAN = { TTSQ_VOICE_RESCAN_INTERVAL_MS: '200', TTSQ_BACKOFF_BASE_MS: '50' };
const TONE = { kind: 'tone', scaleInputs: 'scales', withSpeakerId: false } as const;
const ECHO = { kind: 'echo', scaleInputs: 'scales', withSpeakerId: false } as const;

/** Writes a job straight into the store, as a queued message would arrive past the API. */
async function injectJob(dataDir: string, voice: string): Promise<string> {
  const backend = openEmbeddedBackend({
    dataDir,
    maxAttempts: 3,
    maxStalledCount: 2,
    backoffBaseMs: 50,
    backoffMaxMs: 1000,
  });
  const id = `22222222-2222-4222-8222-${String(Date.now()).padStart(12, '0').slice(-12)}`;
  const request = { text: 'Hello there.', voice, format: 'wav' as const, speed: 1, priority: 100 };
  const job = {
    id,
    ownerId: 'default',
    status: 'queued' as const,
    request,
    segmentCount: 1,
    segmentsDone: 0,
    attempts: 0,
    error: null,
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    audio: null,
  };
  const payload = { jobId: id, index: 0, segmentCount: 1, text: request.text, voice, speed: 1 };
  await backend.jobs.create(job, [
    { id: segmentTaskId(id, 0), groupId: id, payload, maxAttempts: 3 },
  ]);
  await backend.close();
  return id;
}

/** Phoneme string of a Piper echo: the symbols of the token ids, pads dropped. */
function piperPhonemes(ids: number[]): string {
  const symbols = new Map(
    Object.entries(piperPhonemeIdMap()).map(([symbol, [id]]) => [id, symbol]),
  );
  return ids
    .map((id) => symbols.get(id) ?? '?')
    .join('')
    .replace(/_/g, '');
}

describe('neural engines through sherpa-onnx', () => {
  let server: TestServer;
  let modelsDir: string;

  before(async () => {
    server = await TestServer.start(FAST_RESCAN);
    modelsDir = path.join(server.dataDir, 'models');
    fs.mkdirSync(modelsDir, { recursive: true });
  });

  after(async () => {
    await server.stop();
  });

  it('a Piper voice dropped into the models directory is listed without restart and speaks', async () => {
    writePiperVoice(modelsDir, 'en_US-echo-low', buildTestModel(ECHO));
    writePiperVoice(modelsDir, 'en_US-tone-low', buildTestModel(TONE));
    const voice = await waitForVoice(server, 'piper:en_US-tone-low');
    assert.equal(voice.sampleRateHz, 22_050);
    assert.equal(voice.language, 'en-us');
    assert.match(voice.modelDigest, /^[0-9a-f]{64}$/);
    assert.equal(voice.error, undefined);
    await waitForVoice(server, 'piper:en_US-echo-low');

    // The echo model proves eSpeak phonemized the text and the tokens follow Piper's map.
    const echo = await synthesize(server, 'piper:en_US-echo-low', 'Hello world.');
    const ids = echoedTokenIds(echo.samples);
    assert.equal(piperPhonemes(ids), '^həlˈoʊ wˈɜːld.$');

    // The tone model's length follows the token count, and speed shortens it.
    const tone = await synthesize(server, 'piper:en_US-tone-low', 'Hello world.');
    assert.equal(tone.sampleRateHz, 22_050);
    assert.equal(tone.samples.length, ids.length * SAMPLES_PER_TOKEN);
    const fast = await synthesize(server, 'piper:en_US-tone-low', 'Hello world.', 2);
    assert.equal(fast.samples.length, (ids.length * SAMPLES_PER_TOKEN) / 2);
  });

  it("a Piper voice's own length scale is kept, and speed applies on top of it", async () => {
    writePiperVoice(
      modelsDir,
      'en_US-slow-low',
      buildTestModel(TONE),
      piperVoiceJson({ lengthScale: 1.5 }),
    );
    await waitForVoice(server, 'piper:en_US-slow-low');
    const echo = await synthesize(server, 'piper:en_US-echo-low', 'Slow.');
    const tokens = echoedTokenIds(echo.samples).length;
    const slow = await synthesize(server, 'piper:en_US-slow-low', 'Slow.');
    assert.equal(slow.samples.length, Math.floor(tokens * SAMPLES_PER_TOKEN * 1.5));
    const slowFast = await synthesize(server, 'piper:en_US-slow-low', 'Slow.', 1.5);
    assert.equal(slowFast.samples.length, tokens * SAMPLES_PER_TOKEN);
  });

  it('a multi-speaker Piper model lists each speaker as a voice and speaks as the one asked', async () => {
    const model = buildTestModel({ ...TONE, withSpeakerId: true });
    writePiperVoice(
      modelsDir,
      'en_US-duo-low',
      model,
      piperVoiceJson({ speakers: ['alice', 'bob'] }),
    );
    const main = await waitForVoice(server, 'piper:en_US-duo-low');
    assert.deepEqual(main.speakers, ['alice', 'bob']);
    assert.equal((await voices(server)).get('piper:en_US-duo-low/bob')?.speaker, 'bob');

    const peak = (samples: Int16Array) =>
      samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0) / 32_767;
    const alice = await synthesize(server, 'piper:en_US-duo-low/alice', 'Hi.');
    const bob = await synthesize(server, 'piper:en_US-duo-low/bob', 'Hi.');
    assert.ok(Math.abs(peak(alice.samples) - 0.3) < 0.01, `alice peak ${peak(alice.samples)}`);
    assert.ok(Math.abs(peak(bob.samples) - 0.4) < 0.01, `bob peak ${peak(bob.samples)}`);
  });

  it('a Coqui VITS export with its config.json is tokenized with blanks from its vocabulary', async () => {
    const config = coquiVitsConfig();
    writeCoquiModel(modelsDir, 'ljspeech-echo', buildTestModel(ECHO), config);
    const voice = await waitForVoice(server, 'coqui:ljspeech-echo');
    assert.equal(voice.language, 'en-us');

    const audio = await synthesize(server, 'coqui:ljspeech-echo', 'Hello world.');
    const ids = echoedTokenIds(audio.samples);
    // VitsCharacters: pad, punctuation, letters, phonemes, then the blank.
    const chars = config.characters;
    const vocabulary = [
      chars.pad,
      ...chars.punctuations,
      ...chars.characters,
      ...chars.phonemes,
      '<BLNK>',
    ];
    const blankId = vocabulary.length - 1;
    assert.equal(ids[0], blankId);
    assert.equal(ids.filter((id) => id === blankId).length, ids.length / 2);
    const spoken = ids
      .filter((id) => id !== blankId)
      .map((id) => vocabulary[id])
      .join('');
    assert.equal(spoken, 'həlˈoʊ wˈɜːld.,');
  });

  it('a directory prepared for sherpa-onnx runs as is, with its own tokens and character frontend', async () => {
    const tokens = characterTokens();
    const metadata = {
      model_type: 'vits',
      comment: 'ttsq-test',
      language: 'English',
      n_speakers: 1,
      sample_rate: 16_000,
      frontend: 'characters',
      use_eos_bos: 0,
    };
    const model = buildTestModel({
      kind: 'echo',
      scaleInputs: 'separate',
      withSpeakerId: false,
      metadata,
    });
    writeSherpaModel(modelsDir, 'chars', model, tokens.text);
    const voice = await waitForVoice(server, 'sherpa:chars');
    assert.equal(voice.sampleRateHz, 16_000);

    const audio = await synthesize(server, 'sherpa:chars', 'hi there');
    assert.equal(audio.sampleRateHz, 16_000);
    assert.deepEqual(
      echoedTokenIds(audio.samples),
      [...'hi there'].map((c) => tokens.ids.get(c)),
    );
  });

  it('a model with broken metadata is listed with its error, refused by the API, and fails an injected job for good', async () => {
    const metadata = {
      model_type: 'vits',
      comment: 'ttsq-test',
      language: 'English',
      n_speakers: 1,
      frontend: 'characters',
    };
    writeSherpaModel(
      modelsDir,
      'broken',
      buildTestModel({ ...ECHO, scaleInputs: 'separate', metadata }),
      characterTokens().text,
    );
    const voice = await waitForVoice(server, 'sherpa:broken');
    assert.equal(voice.error.code, 'TTSQ_MODEL_INVALID');
    assert.match(voice.error.message, /sample_rate/);

    const refused = await server.submit({ text: 'Hello.', voice: 'sherpa:broken' });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'TTSQ_VOICE_UNAVAILABLE');

    const jobId = await injectJob(server.dataDir, 'sherpa:broken');
    const job = await server.waitForJob(jobId, 30_000);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'TTSQ_MODEL_INVALID');
    assert.equal(job.attempts, 1);
    assert.ok(
      server.process.logs.some(
        (line) => line.msg === 'voice unusable' && line['voice'] === 'sherpa:broken',
      ),
    );
  });

  it('a model that crashes sherpa-onnx while loading is quarantined; the worker lives on', async () => {
    // An old MeloTTS model: sherpa-onnx ends its process when it loads one.
    const metadata = {
      model_type: 'vits',
      comment: 'melo',
      language: 'English',
      n_speakers: 1,
      sample_rate: 22_050,
    };
    writeSherpaModel(
      modelsDir,
      'crasher',
      buildTestModel({ ...TONE, scaleInputs: 'separate', metadata }),
      characterTokens().text,
    );
    fs.writeFileSync(path.join(modelsDir, 'crasher', 'lexicon.txt'), 'hi h i\n');
    await waitForVoice(server, 'sherpa:crasher', (v) => v.error === undefined);

    const created = await server.submit({ text: 'Hello.', voice: 'sherpa:crasher' });
    const job = await server.waitForJob(created.body.id, 30_000);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'TTSQ_MODEL_CRASHED');
    assert.equal(job.attempts, 1);

    const voice = await waitForVoice(server, 'sherpa:crasher', (v) => v.error !== undefined);
    assert.equal(voice.error.code, 'TTSQ_MODEL_CRASHED');
    assert.ok(!server.process.logs.some((line) => line.msg === 'worker exited; restarting'));
    // The respawned engine process still serves the good voices.
    const audio = await synthesize(server, 'piper:en_US-tone-low', 'Still here.');
    assert.ok(audio.samples.length > 0);
  });

  it('replacing a model changes its digest, so cached audio is never served for the new one', async () => {
    const before = await waitForVoice(server, 'piper:en_US-tone-low');
    writePiperVoice(
      modelsDir,
      'en_US-tone-low',
      buildTestModel(TONE),
      piperVoiceJson({ lengthScale: 2 }),
    );
    const after = await waitForVoice(
      server,
      'piper:en_US-tone-low',
      (v) => v.modelDigest !== before.modelDigest,
    );
    assert.notEqual(after.modelDigest, before.modelDigest);

    fs.rmSync(path.join(modelsDir, 'en_US-slow-low.onnx'));
    await waitUntilGone(server, 'piper:en_US-slow-low');
  });
});

async function waitUntilGone(server: TestServer, id: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await voices(server)).has(id)) {
    if (Date.now() > deadline) throw new Error(`voice ${id} still listed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
