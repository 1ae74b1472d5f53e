// Directories prepared for sherpa-onnx, by `model_type`: VITS, Kokoro, Kitten and Matcha models as
// sherpa-onnx publishes them. Each check mirrors what sherpa-onnx reads without a default or ends
// its process on (missing metadata, a `voices.bin` of the wrong size, an unknown vocoder), so a
// bad directory is listed with a message here instead of crashing the engine process.

import {
  DEFAULT_NOISE_SCALE,
  ModelFormatError,
  checkTokens,
  espeakVoice,
  languageTag,
  metadataSampleRateHz,
  positiveInt,
  requiredMetadata,
  sherpaVitsSpec,
  type ModelFiles,
  type SherpaModelSpec,
} from './model-formats.js';
import type { OnnxModelInfo } from './onnx-model-file.js';

type Metadata = ReadonlyMap<string, string>;

/** `model_type` values of sherpa-onnx's published vocoders (`vocos-*.onnx`, `hifigan_*.onnx`). */
const VOCODER_TYPES = new Set(['hifigan', 'vocos', 'matcha-tts vocos']);
/** A Matcha graph whose first output has this name makes audio itself: no vocoder. */
const MATCHA_AUDIO_OUTPUT = 'audio_output';
const FLOAT32_BYTES = 4;

/** Integers of a comma-separated metadata value such as `style_dim` (`510,1,256`). */
function integerList(metadata: Metadata, key: string, where: string): number[] {
  const text = requiredMetadata(metadata, key, where);
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value <= 0)) {
    throw new ModelFormatError(`${where}: metadata "${key}" is not a list of sizes: "${text}"`);
  }
  return values;
}

function speakerCountOf(metadata: Metadata, where: string): number {
  return positiveInt(requiredMetadata(metadata, 'n_speakers', where), `${where}: n_speakers`);
}

/** Names from the `speaker_names` metadata when it names every speaker, else numbers. */
function speakerNamesOf(metadata: Metadata, count: number): string[] {
  const names = (metadata.get('speaker_names') ?? '')
    .split(',')
    .map((name) => name.trim().replace(/\s+/g, '_'));
  const usable = names.length === count && names.every((name) => name !== '');
  if (usable && new Set(names).size === count) return names;
  return Array.from({ length: count }, (_, id) => String(id));
}

/** Checks `voices.bin` holds exactly `count` speakers × `floatsPerSpeaker` float32 values. */
function checkVoicesFile(
  files: ModelFiles,
  count: number,
  floatsPerSpeaker: number,
  where: string,
): void {
  if (files.voicesPath === '') throw new ModelFormatError(`${where}: voices.bin is missing`);
  const expectedBytes = count * floatsPerSpeaker * FLOAT32_BYTES;
  if (files.voicesSizeBytes !== expectedBytes) {
    throw new ModelFormatError(
      `${where}: voices.bin has ${files.voicesSizeBytes} bytes; ${count} speakers of style_dim need ${expectedBytes}`,
    );
  }
}

/** Tokens an espeak-based Kokoro or Kitten frontend needs: a space after each full stop. */
function checkStyleTokens(files: ModelFiles, where: string): void {
  const tokens = checkTokens(files.tokensText ?? '', `${where}/tokens.txt`);
  if (tokens.size === 0) throw new ModelFormatError(`${where}/tokens.txt: no tokens`);
  if (tokens.has('.') && !tokens.has(' ')) {
    throw new ModelFormatError(`${where}/tokens.txt: has "." but no space token`);
  }
}

function checkInputCount(model: OnnxModelInfo, needed: number, where: string): void {
  if (model.inputNames.length < needed) {
    throw new ModelFormatError(
      `${where}: the graph needs at least ${needed} inputs, found ${model.inputNames.length}`,
    );
  }
}

/** The spec fields shared by Kokoro and Kitten, which differ only in `style_dim` and checks. */
function styleModelSpec(
  files: ModelFiles,
  modelType: 'kokoro' | 'kitten',
  voice: string,
  speakers: string[],
  sampleRateHz: number,
): SherpaModelSpec {
  return {
    modelType,
    metadata: null,
    tokens: null,
    usesEspeak: true,
    lexiconPath: '',
    voicesPath: files.voicesPath,
    vocoderPath: '',
    noiseScale: DEFAULT_NOISE_SCALE,
    noiseScaleW: 0,
    lengthScale: 1,
    sampleRateHz,
    language: languageTag(voice),
    speakers,
  };
}

/**
 * A Kokoro model: `model.onnx` (inputs tokens, style, speed), `voices.bin` (n_speakers ×
 * style_dim floats), `tokens.txt`, espeak-ng; multi-lingual versions (`version` ≥ 2) also need
 * their `lexicon-*.txt` files.
 * @throws ModelFormatError naming what is missing or inconsistent.
 */
export function kokoroSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  const { metadata } = files.model;
  const sampleRateHz = metadataSampleRateHz(metadata, where);
  requiredMetadata(metadata, 'has_espeak', where);
  const count = speakerCountOf(metadata, where);
  const styleDim = integerList(metadata, 'style_dim', where);
  const [rows = 0, middle = 0, width = 0] = styleDim;
  if (styleDim.length !== 3 || middle !== 1) {
    throw new ModelFormatError(`${where}: metadata "style_dim" must be "ROWS,1,WIDTH"`);
  }
  checkVoicesFile(files, count, rows * width, where);
  checkInputCount(files.model, 3, where);
  checkStyleTokens(files, where);
  const voice = espeakVoice(metadata.get('voice') || 'en-us', espeak, where);
  const version = Number(metadata.get('version') ?? '1');
  if (version >= 2 && files.lexiconPath === '') {
    throw new ModelFormatError(
      `${where}: a multi-lingual Kokoro model (version ${version}) needs its lexicon-*.txt files`,
    );
  }
  const spec = styleModelSpec(
    files,
    'kokoro',
    voice,
    speakerNamesOf(metadata, count),
    sampleRateHz,
  );
  return version >= 2 ? { ...spec, lexiconPath: files.lexiconPath } : spec;
}

/**
 * A Kitten model as sherpa-onnx publishes it: like Kokoro, with `model_type` `kitten-tts`, a 2-d
 * `style_dim` and optional per-speaker speed priors.
 * @throws ModelFormatError naming what is missing or inconsistent.
 */
export function kittenSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  const { metadata } = files.model;
  const sampleRateHz = metadataSampleRateHz(metadata, where);
  if (requiredMetadata(metadata, 'has_espeak', where) !== '1') {
    throw new ModelFormatError(`${where}: a Kitten model must use espeak-ng (has_espeak=1)`);
  }
  const count = speakerCountOf(metadata, where);
  const styleDim = integerList(metadata, 'style_dim', where);
  const [rows = 0, width = 0] = styleDim;
  if (styleDim.length !== 2) {
    throw new ModelFormatError(`${where}: metadata "style_dim" must be "ROWS,WIDTH"`);
  }
  const priors = metadata.get('speaker_speed_priors') ?? '';
  if (priors !== '' && priors.split(',').filter((p) => Number(p) > 0).length !== count) {
    throw new ModelFormatError(
      `${where}: metadata "speaker_speed_priors" must hold ${count} positive numbers`,
    );
  }
  checkVoicesFile(files, count, rows * width, where);
  checkInputCount(files.model, 3, where);
  checkStyleTokens(files, where);
  const voice = espeakVoice(metadata.get('voice') || 'en-us', espeak, where);
  return styleModelSpec(files, 'kitten', voice, speakerNamesOf(metadata, count), sampleRateHz);
}

/** Refuses a vocoder sherpa-onnx would not recognize (it would crash on the first synthesis). */
function checkVocoder(files: ModelFiles, where: string): void {
  if (!files.vocoder) {
    throw new ModelFormatError(
      `${where}: a Matcha model needs a vocoder beside it (vocos-*.onnx or hifigan_*.onnx)`,
    );
  }
  const type = files.vocoder.metadata.get('model_type') ?? '';
  if (!VOCODER_TYPES.has(type)) {
    throw new ModelFormatError(
      `${files.vocoderPath}: vocoder model_type "${type}" is not hifigan or vocos`,
    );
  }
}

/** Chinese Matcha models: Chinese alone (jieba) or with English (`voice` `zh en-us`). */
function isChineseMatcha(metadata: Metadata): boolean {
  return metadata.get('voice') === 'zh en-us' || metadata.get('jieba') === '1';
}

/** Which frontend sherpa-onnx's Matcha picks; true when it uses espeak-ng data. */
function matchaFrontend(
  files: ModelFiles,
  tokens: Set<string>,
  espeak: ReadonlySet<string> | null,
  where: string,
): boolean {
  const { metadata } = files.model;
  const voice = metadata.get('voice') || 'en-us';
  if (isChineseMatcha(metadata)) {
    if (files.lexiconPath === '') throw new ModelFormatError(`${where}: needs lexicon.txt`);
    if (voice === 'zh en-us') espeakVoice('en-us', espeak, where);
    return voice === 'zh en-us';
  }
  if (metadata.get('has_espeak') !== '1') {
    throw new ModelFormatError(`${where}: a Matcha model needs has_espeak=1 or jieba=1`);
  }
  espeakVoice(voice, espeak, where);
  const missing = ['^', '$'].filter((symbol) => !tokens.has(symbol));
  if (missing.length > 0) {
    throw new ModelFormatError(`${where}/tokens.txt: lacks ${missing.join(' ')}`);
  }
  return true;
}

/**
 * A Matcha acoustic model (inputs x, x_length, then `scales` or noise_scale and length_scale,
 * optional sid) and the vocoder beside it, with `tokens.txt` and espeak-ng or a lexicon.
 * @throws ModelFormatError naming what is missing or inconsistent.
 */
export function matchaSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  const { metadata } = files.model;
  const sampleRateHz = metadataSampleRateHz(metadata, where);
  const count = Number(requiredMetadata(metadata, 'n_speakers', where));
  requiredMetadata(metadata, 'use_eos_bos', where);
  requiredMetadata(metadata, 'pad_id', where);
  checkInputCount(files.model, 3, where);
  const needsVocoder = files.model.outputNames[0] !== MATCHA_AUDIO_OUTPUT;
  if (needsVocoder) checkVocoder(files, where);
  const tokens = checkTokens(files.tokensText ?? '', `${where}/tokens.txt`);
  const usesEspeak = matchaFrontend(files, tokens, espeak, where);
  const speakerCount = Number.isInteger(count) && count > 1 ? count : 1;
  return {
    modelType: 'matcha',
    metadata: null,
    tokens: null,
    usesEspeak,
    lexiconPath: files.lexiconPath,
    voicesPath: '',
    vocoderPath: needsVocoder ? files.vocoderPath : '',
    noiseScale: DEFAULT_NOISE_SCALE,
    noiseScaleW: 0,
    lengthScale: 1,
    sampleRateHz,
    language: isChineseMatcha(metadata) ? 'zh' : languageTag(metadata.get('voice') || 'en-us'),
    speakers: Array.from({ length: speakerCount }, (_, id) => String(id)),
  };
}

/** The `model_type` metadata; without it, a vocoder means Matcha, a `voices.bin` Kokoro. */
function modelTypeOf(files: ModelFiles): string {
  const declared = files.model.metadata.get('model_type');
  if (declared !== undefined && declared !== '') return declared;
  if (files.vocoder) return 'matcha-tts';
  return files.voicesPath === '' ? 'vits' : 'kokoro';
}

/**
 * A directory prepared for sherpa-onnx, by its `model_type` metadata and the files beside it.
 * @throws ModelFormatError naming what is missing, inconsistent or unsupported.
 */
export function preparedSpec(
  files: ModelFiles,
  espeak: ReadonlySet<string> | null,
  where: string,
): SherpaModelSpec {
  switch (modelTypeOf(files)) {
    case 'vits':
      return sherpaVitsSpec(files, espeak, where);
    case 'kokoro':
      return kokoroSpec(files, espeak, where);
    case 'kitten-tts':
      return kittenSpec(files, espeak, where);
    case 'matcha-tts':
      return matchaSpec(files, espeak, where);
    case 'kitten':
      throw new ModelFormatError(
        `${where}: model_type "kitten" is not what sherpa-onnx loads; its Kitten models say "kitten-tts"`,
      );
    default:
      throw new ModelFormatError(
        `${where}: model_type "${modelTypeOf(files)}" is not supported (ttsq runs vits, kokoro, kitten-tts and matcha-tts)`,
      );
  }
}
