// The sherpa-onnx engine: VITS models (Piper voices, Coqui exports, prepared sherpa-onnx
// directories) and prepared Kokoro, Kitten and Matcha directories found in the models directory,
// run on CPU by `sherpa-onnx-node`. sherpa-onnx ends its process on some malformed models, so this
// engine runs only in an engine child process.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as SherpaOnnx from 'sherpa-onnx-node';
import type { OfflineTts, OfflineTtsConfig } from 'sherpa-onnx-node';
import { PermanentTaskError } from '../errors.js';
import type { SynthesisRequest, SynthesisResult, TtsEngine, VoiceInfo } from './engine.js';
import { espeakVoiceNames, resolveEspeakDataDir } from './espeak-data.js';
import type { SherpaModelSpec } from './model-formats.js';
import { ModelScanner, type ModelEntry } from './model-scanner.js';
import { withOnnxMetadata } from './onnx-model-file.js';
import type { EngineSettings } from './registry.js';

const ENGINE_NAME = 'sherpa';
const PACKAGE_NAME = 'sherpa-onnx-node';
/** Models kept loaded at once; the least recently used one is dropped beyond this. */
const MAX_LOADED_MODELS = 4;
/** Bumped when prepared copies change shape, so old ones are not reused. */
const PREPARED_LAYOUT = 'v1';

/** Callbacks to the hosting process around the one step that may end it. */
export interface SherpaEngineHooks {
  /** Awaited before a model is handed to sherpa-onnx: its digest is marked as loading. */
  modelLoading?: (digest: string) => Promise<void>;
  /** The model loaded (or failed with an error sherpa-onnx threw, not a process exit). */
  modelLoaded?: (digest: string) => Promise<void>;
}

interface SherpaVoice {
  info: VoiceInfo;
  entry: ModelEntry;
  speakerId: number;
}

interface LoadedModel {
  tts: OfflineTts;
  spec: SherpaModelSpec;
}

type SherpaModule = typeof SherpaOnnx;

const require = createRequire(import.meta.url);

function readPackageVersion(): string {
  const manifest = JSON.parse(
    fs.readFileSync(require.resolve(`${PACKAGE_NAME}/package.json`), 'utf8'),
  ) as { version?: unknown };
  return `${PACKAGE_NAME}@${String(manifest.version)}`;
}

/** `piper:NAME` and, for a multi-speaker model, `piper:NAME/SPEAKER` for each speaker. */
function voicesOf(entry: ModelEntry): SherpaVoice[] {
  const { format, name } = entry.source;
  const base = {
    engine: ENGINE_NAME,
    modelDigest: entry.digest,
    capabilities: { speed: true, wordTimings: false },
  };
  if (!entry.spec) {
    const error = { code: 'TTSQ_MODEL_INVALID', message: entry.error ?? 'invalid model' };
    const info = {
      ...base,
      id: `${format}:${name}`,
      name,
      language: 'und',
      sampleRateHz: 0,
      error,
    };
    return [{ info, entry, speakerId: 0 }];
  }
  const { spec } = entry;
  const common = { ...base, language: spec.language, sampleRateHz: spec.sampleRateHz };
  const main: SherpaVoice = {
    info: { ...common, id: `${format}:${name}`, name },
    entry,
    speakerId: 0,
  };
  if (spec.speakers.length <= 1) return [main];
  main.info.speakers = [...spec.speakers];
  const perSpeaker = spec.speakers.map((speaker, speakerId) => ({
    info: { ...common, id: `${format}:${name}/${speaker}`, name: `${name} (${speaker})`, speaker },
    entry,
    speakerId,
  }));
  return [main, ...perSpeaker];
}

/** Float samples in [-1, 1] to s16, clipping what lies outside. */
function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const sample = Math.max(-1, Math.min(1, samples[i] ?? 0));
    out[i] = Math.round(sample * 32_767);
  }
  return out;
}

function checkSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed <= 0) {
    throw new PermanentTaskError(
      'TTSQ_SPEED_INVALID',
      `speed must be a positive number, got ${speed}`,
    );
  }
}

/** Writes the model with derived metadata and its `tokens.txt` under `dir` (temp, then rename). */
function writePreparedCopy(dir: string, entry: ModelEntry, spec: SherpaModelSpec): void {
  const tempDir = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tempDir, { recursive: true, force: true });
  fs.mkdirSync(tempDir, { recursive: true });
  const bytes = fs.readFileSync(entry.source.modelPath);
  fs.writeFileSync(
    path.join(tempDir, 'model.onnx'),
    withOnnxMetadata(bytes, spec.metadata ?? new Map()),
  );
  fs.writeFileSync(path.join(tempDir, 'tokens.txt'), spec.tokens ?? '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tempDir, dir);
}

type ModelConfig = OfflineTtsConfig['model'];

/** The config block of a Kokoro, Kitten or Matcha model, used from its directory as it is. */
function preparedModelConfig(
  modelPath: string,
  spec: SherpaModelSpec,
  espeakDataDir: string,
): ModelConfig {
  const tokens = path.join(path.dirname(modelPath), 'tokens.txt');
  const lexicon = spec.lexiconPath !== '' ? { lexicon: spec.lexiconPath } : {};
  const dataDir = spec.usesEspeak ? { dataDir: espeakDataDir } : {};
  switch (spec.modelType) {
    case 'kokoro':
      return {
        kokoro: {
          model: modelPath,
          voices: spec.voicesPath,
          tokens,
          dataDir: espeakDataDir,
          ...lexicon,
        },
      };
    case 'kitten':
      return {
        kitten: { model: modelPath, voices: spec.voicesPath, tokens, dataDir: espeakDataDir },
      };
    default: {
      const vocoder = spec.vocoderPath !== '' ? { vocoder: spec.vocoderPath } : {};
      const matcha = {
        acousticModel: modelPath,
        tokens,
        noiseScale: spec.noiseScale,
        lengthScale: 1,
      };
      return { matcha: { ...matcha, ...vocoder, ...lexicon, ...dataDir } };
    }
  }
}

/**
 * Runs the models of `settings.modelsDir`. `voices()` rescans the directory (cheap when
 * nothing changed); models load on first use and stay loaded (up to four).
 */
export class SherpaEngine implements TtsEngine {
  readonly name = ENGINE_NAME;
  readonly version = readPackageVersion();

  readonly #settings: EngineSettings;
  readonly #hooks: SherpaEngineHooks;
  #sherpa: SherpaModule | null = null;
  #espeakDataDir = '';
  #scanner: ModelScanner | null = null;
  #voices = new Map<string, SherpaVoice>();
  readonly #loaded = new Map<string, LoadedModel>();

  constructor(settings: EngineSettings, hooks: SherpaEngineHooks = {}) {
    this.#settings = settings;
    this.#hooks = hooks;
  }

  /** Loads the native addon, finds espeak-ng data and scans the models directory. */
  init(): Promise<void> {
    this.#sherpa = require(PACKAGE_NAME) as SherpaModule;
    let espeakVoices: Set<string> | null = null;
    try {
      this.#espeakDataDir = resolveEspeakDataDir(
        this.#settings.espeakDataDir,
        this.#settings.cacheDir,
      );
      espeakVoices = espeakVoiceNames(this.#espeakDataDir);
    } catch {
      // Models that need espeak-ng are listed with an error saying so.
      this.#espeakDataDir = '';
    }
    this.#scanner = new ModelScanner(this.#settings.modelsDir, espeakVoices);
    this.#rescan();
    return Promise.resolve();
  }

  /** Rescans the models directory and lists every model's voices, bad ones with their error. */
  voices(): Promise<VoiceInfo[]> {
    this.#rescan();
    return Promise.resolve([...this.#voices.values()].map((voice) => structuredClone(voice.info)));
  }

  /**
   * @throws PermanentTaskError `TTSQ_VOICE_UNKNOWN` for a voice not in the models directory,
   * `TTSQ_MODEL_INVALID` for a model whose files are unusable.
   */
  async synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
    checkSpeed(request.speed);
    const voice = this.#voiceFor(request);
    const { entry } = voice;
    if (!entry.spec) {
      const message = `voice ${voice.info.id} is unusable: ${entry.error ?? 'invalid model'}`;
      throw new PermanentTaskError('TTSQ_MODEL_INVALID', message);
    }
    const sampleRateHz = entry.spec.sampleRateHz;
    if (request.text.trim() === '') {
      return { samples: new Int16Array(0), sampleRateHz, marks: [], modelDigest: entry.digest };
    }

    const model = await this.#load(entry, entry.spec);
    // sherpa-onnx sets length_scale to 1/speed, so dividing by the model's scale keeps it.
    const speed = request.speed / model.spec.lengthScale;
    const audio = await model.tts.generateAsync({
      text: request.text,
      sid: voice.speakerId,
      speed,
    });
    return {
      samples: toInt16(audio.samples),
      sampleRateHz: audio.sampleRate,
      marks: [],
      modelDigest: entry.digest,
    };
  }

  close(): Promise<void> {
    this.#loaded.clear();
    this.#voices.clear();
    return Promise.resolve();
  }

  #rescan(): void {
    if (!this.#scanner) throw new Error('SherpaEngine.init() must be called first');
    const voices = new Map<string, SherpaVoice>();
    for (const entry of this.#scanner.scan()) {
      for (const voice of voicesOf(entry)) voices.set(voice.info.id, voice);
    }
    this.#voices = voices;
  }

  #voiceFor(request: SynthesisRequest): SherpaVoice {
    const id = `${request.voicePrefix ?? ENGINE_NAME}:${request.voice}`;
    if (!this.#voices.has(id)) this.#rescan();
    const voice = this.#voices.get(id);
    if (!voice)
      throw new PermanentTaskError(
        'TTSQ_VOICE_UNKNOWN',
        `no model in the models directory serves voice ${id}`,
      );
    return voice;
  }

  async #load(entry: ModelEntry, spec: SherpaModelSpec): Promise<LoadedModel> {
    const loaded = this.#loaded.get(entry.digest);
    if (loaded) {
      this.#loaded.delete(entry.digest);
      this.#loaded.set(entry.digest, loaded);
      return loaded;
    }
    const config = this.#configFor(entry, spec);
    await this.#hooks.modelLoading?.(entry.digest);
    let tts: OfflineTts;
    try {
      tts = await this.#module().OfflineTts.createAsync(config);
    } catch (error) {
      const message = `sherpa-onnx refused ${entry.source.modelPath}: ${(error as Error).message}`;
      throw new PermanentTaskError('TTSQ_MODEL_INVALID', message, { cause: error });
    } finally {
      await this.#hooks.modelLoaded?.(entry.digest);
    }
    const model = { tts, spec };
    this.#loaded.set(entry.digest, model);
    if (this.#loaded.size > MAX_LOADED_MODELS) {
      const [oldest] = this.#loaded.keys();
      if (oldest !== undefined) this.#loaded.delete(oldest);
    }
    return model;
  }

  /** The sherpa-onnx config for the model's type. */
  #configFor(entry: ModelEntry, spec: SherpaModelSpec): OfflineTtsConfig {
    const model =
      spec.modelType === 'vits'
        ? this.#vitsConfig(entry, spec)
        : preparedModelConfig(entry.source.modelPath, spec, this.#espeakDataDir);
    return { model: { ...model, numThreads: 1, debug: 0 }, maxNumSentences: 1 };
  }

  /** The VITS block, writing a prepared copy first when the model needs one. */
  #vitsConfig(entry: ModelEntry, spec: SherpaModelSpec): ModelConfig {
    let modelPath = entry.source.modelPath;
    let tokensPath = path.join(path.dirname(modelPath), 'tokens.txt');
    if (spec.metadata !== null) {
      const dir = path.join(
        this.#settings.cacheDir,
        'prepared-models',
        `${entry.digest}-${PREPARED_LAYOUT}`,
      );
      if (!fs.existsSync(path.join(dir, 'tokens.txt'))) writePreparedCopy(dir, entry, spec);
      modelPath = path.join(dir, 'model.onnx');
      tokensPath = path.join(dir, 'tokens.txt');
    }
    const vits = {
      model: modelPath,
      tokens: tokensPath,
      noiseScale: spec.noiseScale,
      noiseScaleW: spec.noiseScaleW,
      lengthScale: 1,
      ...(spec.usesEspeak ? { dataDir: this.#espeakDataDir } : {}),
      ...(spec.lexiconPath !== '' ? { lexicon: spec.lexiconPath } : {}),
    };
    return { vits };
  }

  #module(): SherpaModule {
    if (!this.#sherpa) throw new Error('SherpaEngine.init() must be called first');
    return this.#sherpa;
  }
}
