// The engines ttsq can run, by name: the one place that knows engine names, which voice id
// prefixes each serves, and how each is isolated. Engine threads and processes create their
// engine through here.

import { CoquiServerEngine } from './coqui-server-engine.js';
import type { TtsEngine } from './engine.js';
import { EspeakEngine } from './espeak-engine.js';
import { SherpaEngine, type SherpaEngineHooks } from './sherpa-engine.js';

/** Every engine name `createEngine` accepts. */
export const ENGINE_NAMES: readonly string[] = Object.freeze(['espeak', 'sherpa', 'coqui-server']);

/** What engines read from the configuration. Durations in ms. */
export interface EngineSettings {
  /** Directory scanned for Piper voices, Coqui exports and sherpa-onnx model directories. */
  modelsDir: string;
  /** Where derived files live (prepared model copies, extracted espeak-ng data). */
  cacheDir: string;
  /** espeak-ng data for phonemizing models; empty: Debian's, else the bundled copy. */
  espeakDataDir: string;
  /** Base URL of a Coqui `tts-server`; empty disables the remote engine. */
  coquiUrl: string;
  coquiTimeoutMs: number;
}

/** How an engine is kept off the worker's main loop. */
export type EngineIsolation = 'thread' | 'process';

/** One engine as the worker runs it. */
export interface EngineSpec {
  name: string;
  /** Voice id prefixes it serves (`piper:…`, `coqui:…`). */
  prefixes: readonly string[];
  /** `process` for native code that may end its process on bad input. */
  isolation: EngineIsolation;
}

const SPECS: readonly EngineSpec[] = [
  { name: 'espeak', prefixes: ['espeak'], isolation: 'thread' },
  { name: 'sherpa', prefixes: ['piper', 'coqui', 'sherpa'], isolation: 'process' },
  { name: 'coqui-server', prefixes: ['coqui-server'], isolation: 'thread' },
];

/** The engines a worker runs with `settings`: the remote Coqui engine only when configured. */
export function enabledEngines(settings: EngineSettings): EngineSpec[] {
  return SPECS.filter((spec) => spec.name !== 'coqui-server' || settings.coquiUrl !== '');
}

/** The default settings: no models directory, no remote engine (enough for eSpeak alone). */
export const DEFAULT_ENGINE_SETTINGS: Readonly<EngineSettings> = Object.freeze({
  modelsDir: '',
  cacheDir: '',
  espeakDataDir: '',
  coquiUrl: '',
  coquiTimeoutMs: 60_000,
});

/** Optional callbacks from an engine to the process that hosts it. */
export type EngineHooks = SherpaEngineHooks;

/**
 * Creates an engine by name, not yet initialized (call `init()`).
 * @throws TypeError naming the engine when it is not one of `ENGINE_NAMES`.
 */
export function createEngine(
  name: string,
  settings: EngineSettings = DEFAULT_ENGINE_SETTINGS,
  hooks: EngineHooks = {},
): TtsEngine {
  switch (name) {
    case 'espeak':
      return new EspeakEngine();
    case 'sherpa':
      return new SherpaEngine(settings, hooks);
    case 'coqui-server':
      return new CoquiServerEngine(settings);
    default:
      throw new TypeError(`Unknown engine "${name}": expected one of ${ENGINE_NAMES.join(', ')}`);
  }
}
