// Model formats as their projects publish them, checked in JavaScript and turned into what
// sherpa-onnx needs: a Piper voice (`NAME.onnx` + `NAME.onnx.json`), a Coqui VITS export
// (`model.onnx` + Coqui's `config.json`) and a VITS directory already prepared for sherpa-onnx
// (other prepared model types are in `sherpa-model-types.ts`). Anything sherpa-onnx would end its
// process on is refused here with a message naming the file.

import type { OnnxModelInfo } from './onnx-model-file.js';

/** Where a voice comes from: also the prefix of its voice ids. */
export type ModelFormat = 'piper' | 'coqui' | 'sherpa';

/** The sherpa-onnx model families ttsq runs: each has its own config block and inputs. */
export type SherpaModelType = 'vits' | 'kokoro' | 'kitten' | 'matcha';

/** What sherpa-onnx needs to run a model, derived from its files. */
export interface SherpaModelSpec {
  modelType: SherpaModelType;
  /** Metadata to write into a prepared copy; null when the model file carries it already. */
  metadata: Map<string, string> | null;
  /** `tokens.txt` to write beside the prepared copy; null to use the model's own. */
  tokens: string | null;
  /** Phonemizes through espeak-ng (needs its data directory). */
  usesEspeak: boolean;
  /** The model's lexicon files, comma-separated as sherpa-onnx takes them; empty for none. */
  lexiconPath: string;
  /** Style vectors of a Kokoro or Kitten model (`voices.bin`); empty for other types. */
  voicesPath: string;
  /** The vocoder a Matcha model's mel output goes through; empty for other types. */
  vocoderPath: string;
  noiseScale: number;
  noiseScaleW: number;
  /** The model's own length scale: `speed` is applied relative to it. */
  lengthScale: number;
  sampleRateHz: number;
  /** BCP 47-ish, lower case (`en-us`). */
  language: string;
  /** Speaker names by speaker id; one entry for a single-speaker model. */
  speakers: string[];
}

/** A model that cannot be used: the message names what is wrong and where. */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
}

/** The model's files as read by the scanner. */
export interface ModelFiles {
  model: OnnxModelInfo;
  /** Parsed sidecar JSON: `NAME.onnx.json` (Piper) or `config.json` (Coqui). */
  config: unknown;
  /** Parsed `speakers.json`, when present. */
  speakersJson: unknown;
  /** `tokens.txt` of a prepared directory. */
  tokensText: string | null;
  /** Lexicon files of a prepared directory, comma-separated; empty for none. */
  lexiconPath: string;
  /** `voices.bin` of a prepared directory and its size; empty and 0 when absent. */
  voicesPath: string;
  voicesSizeBytes: number;
  /** The vocoder found beside a prepared model; empty and null when absent. */
  vocoderPath: string;
  vocoder: OnnxModelInfo | null;
}

type Json = Record<string, unknown>;

const SPECIAL_TOKENS = new Set(['<PAD>', '<EOS>', '<BOS>', '<BLNK>']);
/** sherpa-onnx's default noise scale for VITS and Matcha. */
export const DEFAULT_NOISE_SCALE = 0.667;
const DEFAULT_NOISE_SCALE_W = 0.8;

/** What every VITS spec shares: the type and no Kokoro or Matcha side files. */
const VITS_FILES = { modelType: 'vits', voicesPath: '', vocoderPath: '' } as const;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(json: Json, key: string, where: string): Json {
  const value = json[key];
  if (!isObject(value)) throw new ModelFormatError(`${where}: "${key}" must be an object`);
  return value;
}

/**
 * `value` (a number or its string form) as a positive integer.
 * @throws ModelFormatError naming `what` otherwise.
 */
export function positiveInt(value: unknown, what: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number <= 0) {
    throw new ModelFormatError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function codePoints(text: string): string[] {
  return [...text];
}

/** `en_US` → `en-us`. */
export function languageTag(code: string): string {
  return code.replace(/_/g, '-').toLowerCase();
}

/** One `tokens.txt` line as sherpa-onnx reads it: a lone id means the space symbol. */
function tokenLine(symbol: string, id: number): string {
  return symbol === ' ' ? ` ${id}` : `${symbol} ${id}`;
}

/** Symbols sherpa-onnx can read from `tokens.txt`: one code point, not a line break or tab. */
function isWritableToken(symbol: string): boolean {
  return codePoints(symbol).length === 1 && (symbol === ' ' || !/\s/.test(symbol));
}

function tokensText(ids: ReadonlyMap<string, number>): string {
  const lines = [...ids].filter(([symbol]) => isWritableToken(symbol));
  return `${lines.map(([symbol, id]) => tokenLine(symbol, id)).join('\n')}\n`;
}

/**
 * Refuses graphs sherpa-onnx would feed the wrong inputs. Piper and Coqui graphs take `scales` as
 * their 3rd input and `sid` 4th; other VITS graphs three scale inputs and `sid` 6th.
 */
function checkVitsInputs(
  model: OnnxModelInfo,
  speakerCount: number,
  layout: 'scales' | 'separate',
  where: string,
): void {
  const names = model.inputNames;
  const needed = layout === 'scales' ? 3 : 5;
  if (names.length < needed) {
    throw new ModelFormatError(
      `${where}: the graph needs at least ${needed} inputs, found ${names.length}`,
    );
  }
  const sidAt = needed;
  if (layout === 'scales' && names.length > sidAt && names[sidAt] !== 'sid') {
    throw new ModelFormatError(
      `${where}: graph input ${sidAt + 1} must be "sid", found "${names[sidAt]}"`,
    );
  }
  if (speakerCount > 1 && names[sidAt] !== 'sid' && names[sidAt] !== 'speaker') {
    throw new ModelFormatError(`${where}: ${speakerCount} speakers but no "sid" graph input`);
  }
}

/** Speaker names by id, from a name → id object; ids without a name are numbered. */
function speakerNames(count: number, byName: unknown): string[] {
  const names = Array.from({ length: Math.max(1, count) }, (_, id) => String(id));
  if (isObject(byName)) {
    for (const [name, id] of Object.entries(byName)) {
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < names.length) {
        names[id] = name.replace(/\s+/g, '_');
      }
    }
  }
  return names;
}

/**
 * Checks that espeak-ng knows `voice` (or its language without region); returns the one it knows.
 * @throws ModelFormatError when there is no espeak-ng data or no such voice.
 */
export function espeakVoice(
  voice: unknown,
  known: ReadonlySet<string> | null,
  where: string,
): string {
  if (typeof voice !== 'string' || voice === '') {
    throw new ModelFormatError(`${where}: no espeak-ng voice given`);
  }
  if (known === null) {
    throw new ModelFormatError(
      `${where}: needs espeak-ng data, and none could be found or extracted`,
    );
  }
  const candidates = [voice.toLowerCase(), voice.toLowerCase().split('-')[0] ?? ''];
  const found = candidates.find((candidate) => known.has(candidate));
  if (!found) throw new ModelFormatError(`${where}: espeak-ng has no voice "${voice}"`);
  return found;
}

function piperPhonemeIds(json: Json, where: string): Map<string, number> {
  const map = objectAt(json, 'phoneme_id_map', where);
  const ids = new Map<string, number>();
  for (const [symbol, value] of Object.entries(map)) {
    const id: unknown = Array.isArray(value) ? value[0] : value;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelFormatError(`${where}: phoneme_id_map["${symbol}"] is not a token id`);
    }
    ids.set(symbol, id);
  }
  for (const required of ['_', '^', '$']) {
    if (!ids.has(required)) {
      throw new ModelFormatError(`${where}: phoneme_id_map lacks "${required}"`);
    }
  }
  return ids;
}

/**
 * A Piper voice: tokens from `phoneme_id_map`, sherpa metadata from the JSON.
 * @throws ModelFormatError naming what is missing or unsupported.
 */
export function piperSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  if (!isObject(files.config)) throw new ModelFormatError(`${where}: not a JSON object`);
  const json = files.config;
  const phonemeType = json['phoneme_type'] ?? 'espeak';
  if (phonemeType !== 'espeak') {
    throw new ModelFormatError(
      `${where}: phoneme_type ${JSON.stringify(phonemeType)} is not supported`,
    );
  }
  let sampleRateHz = positiveInt(
    objectAt(json, 'audio', where)['sample_rate'],
    `${where}: audio.sample_rate`,
  );
  // Some published Piper voices say 22500 for 22050.
  if (sampleRateHz === 22_500) sampleRateHz = 22_050;
  const voice = espeakVoice(objectAt(json, 'espeak', where)['voice'], espeak, where);
  const speakerCount = positiveInt(json['num_speakers'] ?? 1, `${where}: num_speakers`);
  const speakers = speakerNames(speakerCount, json['speaker_id_map']);
  checkVitsInputs(files.model, speakerCount, 'scales', where);

  const inference = isObject(json['inference']) ? json['inference'] : {};
  const languageJson = isObject(json['language']) ? json['language'] : {};
  const code = typeof languageJson['code'] === 'string' ? languageJson['code'] : voice;
  const metadata = new Map([
    ['model_type', 'vits'],
    ['comment', 'piper'],
    ['language', code],
    ['voice', voice],
    ['has_espeak', '1'],
    ['n_speakers', String(speakerCount)],
    ['sample_rate', String(sampleRateHz)],
  ]);
  return {
    ...VITS_FILES,
    metadata,
    tokens: tokensText(piperPhonemeIds(json, where)),
    usesEspeak: true,
    lexiconPath: '',
    noiseScale: numberOr(inference['noise_scale'], DEFAULT_NOISE_SCALE),
    noiseScaleW: numberOr(inference['noise_w'], DEFAULT_NOISE_SCALE_W),
    lengthScale: numberOr(inference['length_scale'], 1),
    sampleRateHz,
    language: languageTag(code),
    speakers,
  };
}

function optionalSymbol(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Sorts by code point, as Python sorts strings. */
function byCodePoint(a: string, b: string): number {
  return (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0);
}

/**
 * Coqui's vocabulary, in id order. `VitsCharacters` (Coqui's own VITS models) is pad,
 * punctuation, graphemes, phonemes, blank; the other classes are pad, eos, bos, blank, then the
 * (optionally unique and sorted) characters, then punctuation.
 */
function coquiVocabulary(json: Json, usePhonemes: boolean, where: string): string[] {
  const characters = objectAt(json, 'characters', where);
  const text = (key: string): string => {
    const value = characters[key];
    return typeof value === 'string' ? value : '';
  };
  const className = text('characters_class');
  const pad = optionalSymbol(characters['pad']);
  if (className.endsWith('VitsCharacters')) {
    const graphemes = codePoints(text('characters') + text('phonemes'));
    return [...(pad ? [pad] : []), ...codePoints(text('punctuations')), ...graphemes, '<BLNK>'];
  }

  const phonemes = className.endsWith('IPAPhonemes') || (className === '' && usePhonemes);
  let symbols = codePoints(phonemes ? text('phonemes') : text('characters'));
  if (characters['is_unique'] === true) symbols = [...new Set(symbols)];
  if (characters['is_sorted'] === true) symbols = symbols.sort(byCodePoint);
  const specials = ['pad', 'eos', 'bos', 'blank'].map((key) => optionalSymbol(characters[key]));
  const present = specials.filter((symbol): symbol is string => symbol !== null);
  return [...present, ...symbols, ...codePoints(text('punctuations'))];
}

/** Symbol → id as Coqui's tokenizer builds it: a symbol listed twice keeps its last id. */
function vocabularyIds(vocabulary: string[]): Map<string, number> {
  const ids = new Map<string, number>();
  vocabulary.forEach((symbol, id) => ids.set(symbol, id));
  return ids;
}

function coquiSpecialIds(json: Json, ids: Map<string, number>): Record<string, string> {
  const characters = isObject(json['characters']) ? json['characters'] : {};
  const idOf = (symbol: unknown): string => String(ids.get(optionalSymbol(symbol) ?? '') ?? 0);
  const blank = optionalSymbol(characters['blank']) ?? '<BLNK>';
  return {
    blank_id: idOf(blank),
    bos_id: idOf(characters['bos']),
    eos_id: idOf(characters['eos']),
    pad_id: idOf(characters['pad']),
  };
}

/**
 * A Coqui VITS export: tokens from the vocabulary in `config.json`, metadata from its settings.
 * @throws ModelFormatError naming what is missing or unsupported.
 */
export function coquiSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  if (!isObject(files.config)) throw new ModelFormatError(`${where}: not a JSON object`);
  const json = files.config;
  if (json['model'] !== undefined && json['model'] !== 'vits') {
    throw new ModelFormatError(`${where}: model ${JSON.stringify(json['model'])} is not VITS`);
  }
  const usePhonemes = json['use_phonemes'] === true;
  const phonemizer = json['phonemizer'];
  if (usePhonemes && phonemizer !== undefined && phonemizer !== null && phonemizer !== 'espeak') {
    throw new ModelFormatError(
      `${where}: phonemizer ${JSON.stringify(phonemizer)} is not supported`,
    );
  }
  const sampleRateHz = positiveInt(
    objectAt(json, 'audio', where)['sample_rate'],
    `${where}: audio.sample_rate`,
  );
  const modelArgs = isObject(json['model_args']) ? json['model_args'] : {};
  const speakerCount = Number(modelArgs['num_speakers'] ?? 0) || 0;
  checkVitsInputs(files.model, speakerCount, 'scales', where);

  const ids = vocabularyIds(coquiVocabulary(json, usePhonemes, where));
  if (usePhonemes && !ids.has(',')) throw new ModelFormatError(`${where}: vocabulary lacks ","`);
  const language = typeof json['phoneme_language'] === 'string' ? json['phoneme_language'] : 'en';
  const voice = usePhonemes ? espeakVoice(language, espeak, where) : '';
  const metadata = new Map([
    ['model_type', 'vits'],
    ['comment', 'coqui'],
    ['language', language],
    ['voice', voice],
    ['has_espeak', usePhonemes ? '1' : '0'],
    ['n_speakers', String(speakerCount)],
    ['sample_rate', String(sampleRateHz)],
    ['add_blank', json['add_blank'] === true ? '1' : '0'],
    ['use_eos_bos', json['enable_eos_bos_chars'] === true ? '1' : '0'],
    ...Object.entries(coquiSpecialIds(json, ids)),
  ]);
  if (!usePhonemes) metadata.set('frontend', 'characters');
  return {
    ...VITS_FILES,
    metadata,
    tokens: tokensText(ids),
    usesEspeak: usePhonemes,
    lexiconPath: '',
    noiseScale: DEFAULT_NOISE_SCALE,
    noiseScaleW: DEFAULT_NOISE_SCALE_W,
    lengthScale: numberOr(json['length_scale'], 1),
    sampleRateHz,
    language: languageTag(language),
    speakers: speakerNames(speakerCount, files.speakersJson),
  };
}

/**
 * Parses `tokens.txt` the way sherpa-onnx does, refusing what would end its process; returns the
 * symbols it defines.
 * @throws ModelFormatError naming the bad line.
 */
export function checkTokens(text: string, where: string): Set<string> {
  const symbols = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const parts = line.trim().split(/\s+/);
    const [symbol, id] = parts.length === 1 ? [' ', parts[0]] : parts;
    if (parts.length > 2 || !/^\d+$/.test(id ?? '') || symbol === undefined) {
      throw new ModelFormatError(`${where}: line ${index + 1} is not "symbol id"`);
    }
    if (SPECIAL_TOKENS.has(symbol)) return;
    if (codePoints(symbol).length !== 1 || symbols.has(symbol)) {
      throw new ModelFormatError(`${where}: line ${index + 1} has a bad or repeated symbol`);
    }
    symbols.add(symbol);
  });
  return symbols;
}

/** The required `sample_rate` metadata, in Hz. @throws ModelFormatError when absent or bad. */
export function metadataSampleRateHz(metadata: ReadonlyMap<string, string>, where: string): number {
  return positiveInt(requiredMetadata(metadata, 'sample_rate', where), `${where}: sample_rate`);
}

/**
 * A metadata value sherpa-onnx reads without a default (it ends its process when one is missing).
 * @throws ModelFormatError when it is missing or empty.
 */
export function requiredMetadata(
  metadata: ReadonlyMap<string, string>,
  key: string,
  where: string,
): string {
  const value = metadata.get(key);
  if (value === undefined || value === '') {
    throw new ModelFormatError(`${where}: metadata "${key}" is missing`);
  }
  return value;
}

/** Which frontend sherpa-onnx will pick, refusing a model it would have no frontend for. */
function checkFrontend(
  metadata: Map<string, string>,
  tokens: Set<string>,
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): boolean {
  if (metadata.get('frontend') === 'characters') return false;
  const comment = metadata.get('comment') ?? '';
  if (/piper|coqui|icefall/.test(comment)) {
    espeakVoice(metadata.get('voice'), espeak, where);
    const needed = comment.includes('coqui') ? [','] : ['_', '^', '$'];
    const missing = needed.filter((symbol) => !tokens.has(symbol));
    if (missing.length > 0)
      throw new ModelFormatError(`${where}: tokens.txt lacks ${missing.join(' ')}`);
    return true;
  }
  if (files.lexiconPath === '') {
    throw new ModelFormatError(`${where}: needs lexicon.txt (no espeak or character frontend)`);
  }
  return false;
}

/**
 * A VITS directory prepared for sherpa-onnx: its metadata and tokens are checked, not rewritten.
 * @throws ModelFormatError naming what is missing or unsupported.
 */
export function sherpaVitsSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  const { metadata } = files.model;
  const sampleRateHz = metadataSampleRateHz(metadata, where);
  const speakerCount = Number(requiredMetadata(metadata, 'n_speakers', where));
  if (!Number.isInteger(speakerCount) || speakerCount < 0) {
    throw new ModelFormatError(`${where}: metadata "n_speakers" is not a count`);
  }
  const language = requiredMetadata(metadata, 'language', where);
  const comment = requiredMetadata(metadata, 'comment', where);
  const layout = /piper|coqui/.test(comment) ? 'scales' : 'separate';
  checkVitsInputs(files.model, speakerCount, layout, where);
  const tokens = checkTokens(files.tokensText ?? '', `${where}/tokens.txt`);
  const usesEspeak = checkFrontend(metadata, tokens, files, espeak, where);
  return {
    ...VITS_FILES,
    metadata: null,
    tokens: null,
    usesEspeak,
    lexiconPath: files.lexiconPath,
    noiseScale: DEFAULT_NOISE_SCALE,
    noiseScaleW: DEFAULT_NOISE_SCALE_W,
    lengthScale: 1,
    sampleRateHz,
    language: languageTag(metadata.get('voice') || language),
    speakers: speakerNames(speakerCount, files.speakersJson),
  };
}
