// Finds models in the models directory and keeps what it learned about each until its files
// change: a rescan costs one `readdir` and a few `stat` calls per model, and a model is read,
// hashed and checked again only when its files' sizes or times differ.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ModelFormatError,
  coquiSpec,
  piperSpec,
  type ModelFiles,
  type ModelFormat,
  type SherpaModelSpec,
} from './model-formats.js';
import { readOnnxModelInfo, type OnnxModelInfo } from './onnx-model-file.js';
import { preparedSpec } from './sherpa-model-types.js';

/** A model found on disk, before it is read. */
export interface ModelSource {
  format: ModelFormat;
  /** Voice name: `NAME` of `piper:NAME`. */
  name: string;
  modelPath: string;
  /** The sidecar JSON (`NAME.onnx.json`, `config.json`); empty for prepared directories. */
  configPath: string;
  /**
   * Other files whose content changes the audio (`tokens.txt`, `speakers.json`, lexicons,
   * `voices.bin`, a Matcha vocoder).
   */
  extraPaths: string[];
}

/** A model as ttsq knows it: usable (`spec`) or not (`error`). */
export interface ModelEntry {
  source: ModelSource;
  /** SHA-256 over every file of the model; identifies its prepared copy and its cache keys. */
  digest: string;
  spec: SherpaModelSpec | null;
  error: string | null;
}

/** Files written less than this long ago may still be copying in: they wait for the next scan. */
const SETTLE_MS = 1_000;
const OPTIONAL_SIDECARS = ['speakers.json', 'lexicon.txt'];
/** Vocoders as sherpa-onnx publishes them: `vocos-22khz-univ.onnx`, `hifigan_v2.onnx`. */
const VOCODER_FILE = /^(vocos|hifigan)|vocoder/i;
/** Acoustic model file names of prepared directories, most specific first. */
const PREPARED_MODEL_FILES = ['model.onnx', 'acoustic_model.onnx', 'model-steps-3.onnx'];

function exists(filePath: string): boolean {
  return fs.existsSync(filePath);
}

function piperPairs(dir: string, entries: string[]): ModelSource[] {
  return entries
    .filter((file) => file.endsWith('.onnx') && entries.includes(`${file}.json`))
    .map((file) => ({
      format: 'piper' as const,
      name: file.slice(0, -'.onnx'.length),
      modelPath: path.join(dir, file),
      configPath: path.join(dir, `${file}.json`),
      extraPaths: [],
    }));
}

function sidecars(dir: string, names: string[]): string[] {
  return names.map((name) => path.join(dir, name)).filter(exists);
}

/** The acoustic model of a prepared directory: a known name, else the first `model*.onnx`. */
function preparedModelFile(entries: string[]): string | undefined {
  const models = entries.filter((file) => file.endsWith('.onnx') && !VOCODER_FILE.test(file));
  const known = PREPARED_MODEL_FILES.find((file) => models.includes(file));
  return known ?? models.find((file) => file.startsWith('model'));
}

/** Side files of a prepared directory: tokens, lexicons, `voices.bin` and a vocoder. */
function preparedSidecars(dir: string, entries: string[]): string[] {
  const lexicons = entries.filter((file) => /^lexicon-.+\.txt$/.test(file));
  const vocoder = entries.find((file) => file.endsWith('.onnx') && VOCODER_FILE.test(file));
  const names = ['tokens.txt', 'voices.bin', ...OPTIONAL_SIDECARS, ...lexicons];
  return sidecars(dir, vocoder ? [...names, vocoder] : names);
}

/** A subdirectory: prepared for sherpa-onnx, a Coqui export, or a folder of Piper voices. */
function directorySources(dir: string, name: string): ModelSource[] {
  const entries = fs.readdirSync(dir).sort();
  const preparedModel = preparedModelFile(entries);
  if (preparedModel && entries.includes('tokens.txt')) {
    const modelPath = path.join(dir, preparedModel);
    const extraPaths = preparedSidecars(dir, entries);
    return [{ format: 'sherpa', name, modelPath, configPath: '', extraPaths }];
  }
  const onnxFiles = entries.filter((file) => file.endsWith('.onnx'));
  const [onlyModel] = onnxFiles;
  if (entries.includes('config.json') && onnxFiles.length === 1 && onlyModel) {
    return [
      {
        format: 'coqui',
        name,
        modelPath: path.join(dir, onlyModel),
        configPath: path.join(dir, 'config.json'),
        extraPaths: sidecars(dir, OPTIONAL_SIDECARS),
      },
    ];
  }
  return piperPairs(dir, entries);
}

/** Every model under `modelsDir`: its top level and one level of subdirectories. */
export function findModelSources(modelsDir: string): ModelSource[] {
  if (modelsDir === '' || !exists(modelsDir)) return [];
  const entries = fs.readdirSync(modelsDir, { withFileTypes: true });
  const visible = entries.filter((entry) => !entry.name.startsWith('.'));
  const files = visible.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const sources = piperPairs(modelsDir, files);
  for (const entry of visible.filter((e) => e.isDirectory())) {
    sources.push(...directorySources(path.join(modelsDir, entry.name), entry.name));
  }
  return sources;
}

function filesOf(source: ModelSource): string[] {
  return [source.modelPath, source.configPath, ...source.extraPaths].filter((file) => file !== '');
}

/** Sizes and times of the source's files; null while one was written too recently. */
function signatureOf(source: ModelSource, nowMs: number): string | null {
  const parts: string[] = [];
  for (const file of filesOf(source)) {
    const stat = fs.statSync(file);
    if (nowMs - stat.mtimeMs < SETTLE_MS) return null;
    parts.push(`${file}:${stat.size}:${stat.mtimeMs}:${stat.ino}`);
  }
  return parts.join('|');
}

function readJson(filePath: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(filePath, 'utf8')) as unknown;
  } catch (error) {
    throw new ModelFormatError(`${filePath}: not valid JSON (${(error as Error).message})`);
  }
}

function readOnnx(filePath: string, bytes: Buffer): OnnxModelInfo {
  try {
    return readOnnxModelInfo(bytes);
  } catch (error) {
    throw new ModelFormatError(`${filePath}: ${(error as Error).message}`);
  }
}

/** The lexicons of a source, comma-separated: `lexicon.txt` or the `lexicon-*.txt` files. */
function lexiconsOf(source: ModelSource): string {
  const dir = path.dirname(source.modelPath);
  const listed = source.extraPaths.filter((p) => /^lexicon(-.+)?\.txt$/.test(path.basename(p)));
  if (listed.length > 0) return listed.join(',');
  return exists(path.join(dir, 'lexicon.txt')) ? path.join(dir, 'lexicon.txt') : '';
}

function readModelFiles(source: ModelSource, modelBytes: Buffer): ModelFiles {
  const find = (name: string): string =>
    source.extraPaths.find((p) => path.basename(p) === name) ?? '';
  const tokensPath = find('tokens.txt');
  const speakersPath = find('speakers.json');
  const voicesPath = find('voices.bin');
  const vocoderPath =
    source.extraPaths.find((p) => p.endsWith('.onnx') && VOCODER_FILE.test(path.basename(p))) ?? '';
  return {
    model: readOnnx(source.modelPath, modelBytes),
    config: source.configPath === '' ? null : readJson(source.configPath),
    speakersJson: speakersPath === '' ? null : readJson(speakersPath),
    tokensText: tokensPath === '' ? null : fs.readFileSync(tokensPath, 'utf8'),
    lexiconPath: lexiconsOf(source),
    voicesPath,
    voicesSizeBytes: voicesPath === '' ? 0 : fs.statSync(voicesPath).size,
    vocoderPath,
    vocoder: vocoderPath === '' ? null : readOnnx(vocoderPath, fs.readFileSync(vocoderPath)),
  };
}

function digestOf(source: ModelSource, modelBytes: Buffer): string {
  const hash = createHash('sha256').update(modelBytes);
  for (const file of filesOf(source).slice(1)) hash.update(fs.readFileSync(file));
  return hash.digest('hex');
}

function specOf(
  source: ModelSource,
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
): SherpaModelSpec {
  const where = path.relative(path.dirname(path.dirname(source.modelPath)), source.modelPath);
  if (source.format === 'piper') return piperSpec(files, espeak, where);
  if (source.format === 'coqui') return coquiSpec(files, espeak, where);
  return preparedSpec(files, espeak, where);
}

/** Reads, hashes and checks one model. Never throws: a bad model is an entry with an error. */
function examine(source: ModelSource, espeak: ReadonlySet<string> | null): ModelEntry {
  let digest = '';
  try {
    const modelBytes = fs.readFileSync(source.modelPath);
    digest = digestOf(source, modelBytes);
    const spec = specOf(source, readModelFiles(source, modelBytes), espeak);
    return { source, digest, spec, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { source, digest, spec: null, error: message };
  }
}

/**
 * Keeps the models of one directory up to date across rescans. `espeakVoices` is the set of
 * voices espeak-ng data offers, or null when there is no data (models needing it are refused).
 */
export class ModelScanner {
  readonly #modelsDir: string;
  readonly #espeakVoices: ReadonlySet<string> | null;
  readonly #known = new Map<string, { signature: string; entry: ModelEntry }>();

  constructor(modelsDir: string, espeakVoices: ReadonlySet<string> | null) {
    this.#modelsDir = modelsDir;
    this.#espeakVoices = espeakVoices;
  }

  /** Rescans the directory; models still being written are left for the next scan. */
  scan(nowMs = Date.now()): ModelEntry[] {
    const entries: ModelEntry[] = [];
    const seen = new Set<string>();
    for (const source of findModelSources(this.#modelsDir)) {
      const key = `${source.format}:${source.name}`;
      if (seen.has(key)) continue;
      const entry = this.#entryFor(source, key, nowMs);
      if (!entry) continue;
      seen.add(key);
      entries.push(entry);
    }
    for (const key of this.#known.keys()) if (!seen.has(key)) this.#known.delete(key);
    return entries;
  }

  #entryFor(source: ModelSource, key: string, nowMs: number): ModelEntry | null {
    let signature: string | null;
    try {
      signature = signatureOf(source, nowMs);
    } catch {
      return null;
    }
    if (signature === null) return this.#known.get(key)?.entry ?? null;
    const known = this.#known.get(key);
    if (known?.signature === signature) return known.entry;
    const entry = examine(source, this.#espeakVoices);
    this.#known.set(key, { signature, entry });
    return entry;
  }
}
