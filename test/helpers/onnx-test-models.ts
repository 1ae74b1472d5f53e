// Builds tiny ONNX models that take the inputs of a VITS voice and return a deterministic
// waveform, and writes them in the layouts Piper, Coqui and sherpa-onnx publish. No weights are
// downloaded: each graph is a dozen nodes built with `onnx-proto`.

import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Samples per input token at length scale 1. */
export const SAMPLES_PER_TOKEN = 256;
/** Echo models write token id `n` as the sample value `n / ECHO_DIVISOR` (before int16 scaling). */
export const ECHO_DIVISOR = 256;

/** What the test graph does. */
export interface TestModelOptions {
  /** `tone`: a sine of `tokens × SAMPLES_PER_TOKEN × length_scale` samples; `echo`: the ids. */
  kind: 'tone' | 'echo';
  /** Piper and Coqui graphs take `scales` [3]; other VITS graphs three scalar scale inputs. */
  scaleInputs: 'scales' | 'separate';
  /** Adds a `sid` input; the tone's amplitude grows with the speaker id. */
  withSpeakerId: boolean;
  metadata?: Record<string, string | number>;
}

type NodeSpec = [op: string, inputs: string[], outputs: string[], attributes?: object[]];

function tensorInput(name: string, elemType: number, dims: (number | string)[]) {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function int64Const(name: string, values: number[], dims: number[]) {
  return { name, dataType: INT64, dims, int64Data: values };
}

function floatConst(name: string, values: number[], dims: number[]) {
  return { name, dataType: FLOAT, dims, floatData: values };
}

function castTo(to: number) {
  return [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }];
}

/** Nodes computing `length_scale` as a scalar float named `ls`. */
function lengthScaleNodes(options: TestModelOptions): NodeSpec[] {
  if (options.scaleInputs === 'scales') return [['Gather', ['scales', 'one'], ['ls']]];
  return [['Gather', ['length_scale', 'zero'], ['ls']]];
}

/** Nodes computing the amplitude `amp`: 0.3, plus 0.1 per speaker id. */
function amplitudeNodes(options: TestModelOptions): NodeSpec[] {
  if (!options.withSpeakerId) return [['Identity', ['base_amp'], ['amp']]];
  return [
    ['Gather', ['sid', 'zero'], ['sid0']],
    ['Cast', ['sid0'], ['sid_f'], castTo(FLOAT)],
    ['Mul', ['sid_f', 'amp_step'], ['sid_amp']],
    ['Add', ['base_amp', 'sid_amp'], ['amp']],
  ];
}

function toneNodes(options: TestModelOptions): NodeSpec[] {
  return [
    ['Shape', ['x'], ['x_shape']],
    ['Gather', ['x_shape', 'one'], ['n']],
    ['Cast', ['n'], ['n_f'], castTo(FLOAT)],
    ...lengthScaleNodes(options),
    ['Mul', ['n_f', 'hop'], ['frames']],
    ['Mul', ['frames', 'ls'], ['t_f']],
    ['Cast', ['t_f'], ['t'], castTo(INT64)],
    ['Range', ['zero', 't', 'one'], ['r']],
    ['Cast', ['r'], ['r_f'], castTo(FLOAT)],
    ['Mul', ['r_f', 'omega'], ['phase']],
    ['Sin', ['phase'], ['wave']],
    ...amplitudeNodes(options),
    ['Mul', ['wave', 'amp'], ['y_flat']],
    ['Reshape', ['y_flat', 'out_shape'], ['y']],
  ];
}

function echoNodes(): NodeSpec[] {
  return [
    ['Cast', ['x'], ['x_f'], castTo(FLOAT)],
    ['Mul', ['x_f', 'echo_scale'], ['y_flat']],
    ['Reshape', ['y_flat', 'out_shape'], ['y']],
  ];
}

function graphInputs(options: TestModelOptions) {
  const inputs = [tensorInput('x', INT64, [1, 'N']), tensorInput('x_length', INT64, [1])];
  if (options.scaleInputs === 'scales') inputs.push(tensorInput('scales', FLOAT, [3]));
  else {
    for (const name of ['noise_scale', 'length_scale', 'noise_scale_w']) {
      inputs.push(tensorInput(name, FLOAT, [1]));
    }
  }
  if (options.withSpeakerId) inputs.push(tensorInput('sid', INT64, [1]));
  return inputs;
}

/** Serializes a test model: a VITS-shaped graph (opset 13) with optional metadata. */
export function buildTestModel(options: TestModelOptions): Buffer {
  const nodes = options.kind === 'tone' ? toneNodes(options) : echoNodes();
  const graph = {
    name: `ttsq-test-${options.kind}`,
    node: nodes.map(([opType, input, output, attribute = []], i) => ({
      name: `n${i}`,
      opType,
      input,
      output,
      attribute,
    })),
    initializer: [
      int64Const('zero', [0], []),
      int64Const('one', [1], []),
      int64Const('out_shape', [1, 1, -1], [3]),
      floatConst('hop', [SAMPLES_PER_TOKEN], []),
      floatConst('omega', [(2 * Math.PI * 220) / 22_050], []),
      floatConst('base_amp', [0.3], []),
      floatConst('amp_step', [0.1], []),
      floatConst('echo_scale', [1 / ECHO_DIVISOR], []),
    ],
    input: graphInputs(options),
    output: [tensorInput('y', FLOAT, [1, 1, 'T'])],
  };
  const metadataProps = Object.entries(options.metadata ?? {}).map(([key, value]) => ({
    key,
    value: String(value),
  }));
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'ttsq-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
    metadataProps,
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

/** A Piper `phoneme_id_map` covering what eSpeak produces for plain English. */
export function piperPhonemeIdMap(): Record<string, number[]> {
  const symbols = ['_', '^', '$', ' ', '!', "'", '(', ')', ',', '-', '.', ':', ';', '?'];
  symbols.push(...'abcdefghijklmnopqrstuvwxyz'.split(''));
  symbols.push(
    ...'æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ'.split(
      '',
    ),
  );
  symbols.push('\u0303', '\u0329', '\u032a', '\u0361');
  return Object.fromEntries(symbols.map((symbol, id) => [symbol, [id]]));
}

/** The `NAME.onnx.json` of a Piper voice as Piper publishes it. */
export function piperVoiceJson(options: { speakers?: string[]; lengthScale?: number } = {}) {
  const speakers = options.speakers ?? [];
  return {
    audio: { sample_rate: 22_050, quality: 'low' },
    espeak: { voice: 'en-us' },
    inference: { noise_scale: 0.667, length_scale: options.lengthScale ?? 1, noise_w: 0.8 },
    phoneme_type: 'espeak',
    phoneme_map: {},
    phoneme_id_map: piperPhonemeIdMap(),
    num_symbols: 256,
    num_speakers: Math.max(1, speakers.length),
    speaker_id_map: Object.fromEntries(speakers.map((name, id) => [name, id])),
    piper_version: '1.0.0',
    language: { code: 'en_US', family: 'en', region: 'US', name_native: 'English' },
    dataset: 'ttsq-test',
  };
}

/** Writes `NAME.onnx` + `NAME.onnx.json` into `dir`, the JSON first so the pair lands whole. */
export function writePiperVoice(
  dir: string,
  name: string,
  model: Buffer,
  json: object = piperVoiceJson(),
): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.onnx.json`), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, `${name}.onnx`), model);
}

/** A Coqui VITS `config.json` for a phoneme model (IPA phonemes through eSpeak). */
export function coquiVitsConfig(options: { speakers?: number } = {}) {
  return {
    model: 'vits',
    use_phonemes: true,
    phonemizer: 'espeak',
    phoneme_language: 'en-us',
    add_blank: true,
    enable_eos_bos_chars: false,
    audio: { sample_rate: 22_050 },
    model_args: { num_speakers: options.speakers ?? 0 },
    characters: {
      characters_class: 'TTS.tts.models.vits.VitsCharacters',
      pad: '_',
      eos: '',
      bos: '',
      blank: null,
      characters: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      punctuations: ';:,.!?¡¿—…"«»“” ',
      phonemes:
        "ɑɐɒæɓʙβɔɕçɗɖðʤəɘɚɛɜɝɞɟʄɡɠɢʛɦɧħɥʜɨɪʝɭɬɫɮʟɱɯɰŋɳɲɴøɵɸθœɶʘɹɺɾɻʀʁɽʂʃʈʧʉʊʋⱱʌɣɤʍχʎʏʑʐʒʔʡʕʢǀǁǂǃˈˌːˑʼʴʰʱʲʷˠˤ˞↓↑→↗↘'̩'ᵻ",
      is_unique: false,
      is_sorted: true,
    },
  };
}

/** Writes a Coqui export: `DIR/NAME/model.onnx` + `config.json` (+ `speakers.json`). */
export function writeCoquiModel(
  dir: string,
  name: string,
  model: Buffer,
  config: object,
  speakers?: Record<string, number>,
): void {
  const modelDir = path.join(dir, name);
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify(config));
  if (speakers) fs.writeFileSync(path.join(modelDir, 'speakers.json'), JSON.stringify(speakers));
  fs.writeFileSync(path.join(modelDir, 'model.onnx'), model);
}

/** Writes a directory prepared for sherpa-onnx: `model.onnx` with metadata and `tokens.txt`. */
export function writeSherpaModel(dir: string, name: string, model: Buffer, tokens: string): void {
  const modelDir = path.join(dir, name);
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(path.join(modelDir, 'tokens.txt'), tokens);
  fs.writeFileSync(path.join(modelDir, 'model.onnx'), model);
}

/** `tokens.txt` for a character model: `_` is 0, then space and a–z, then punctuation. */
export function characterTokens(): { text: string; ids: Map<string, number> } {
  const symbols = ['_', ' ', ...'abcdefghijklmnopqrstuvwxyz'.split(''), ',', '.', '!', '?'];
  const ids = new Map(symbols.map((symbol, id) => [symbol, id]));
  const text = symbols.map((symbol, id) => (symbol === ' ' ? ` ${id}` : `${symbol} ${id}`));
  return { text: `${text.join('\n')}\n`, ids };
}

/** Decodes token ids back from an echo model's int16 samples. */
export function echoedTokenIds(samples: Int16Array): number[] {
  return [...samples].map((sample) => Math.round((sample / 32_767) * ECHO_DIVISOR));
}

/** Mel frames a test Matcha acoustic model makes per input token at length scale 1. */
export const FRAMES_PER_TOKEN = 4;
/** Samples a test vocoder makes per mel frame. */
export const SAMPLES_PER_FRAME = 64;

interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: ReturnType<typeof tensorInput>[];
  outputs: ReturnType<typeof tensorInput>[];
  metadata?: Record<string, string | number> | undefined;
  /** Constants beyond the shared ones. */
  initializers?: object[];
}

/** Serializes any test graph with the shared constants (opset 13). */
function serializeGraph(spec: GraphSpec): Buffer {
  const graph = {
    name: spec.name,
    node: spec.nodes.map(([opType, input, output, attribute = []], i) => ({
      name: `n${i}`,
      opType,
      input,
      output,
      attribute,
    })),
    initializer: [
      int64Const('zero', [0], []),
      int64Const('one', [1], []),
      int64Const('two', [2], []),
      int64Const('zero_axes', [0], [1]),
      int64Const('out_shape', [1, 1, -1], [3]),
      floatConst('hop', [SAMPLES_PER_TOKEN], []),
      floatConst('frames_per_token', [FRAMES_PER_TOKEN], []),
      floatConst('samples_per_frame', [SAMPLES_PER_FRAME], []),
      floatConst('omega', [(2 * Math.PI * 220) / 22_050], []),
      ...(spec.initializers ?? []),
    ],
    input: spec.inputs,
    output: spec.outputs,
  };
  const metadataProps = Object.entries(spec.metadata ?? {}).map(([key, value]) => ({
    key,
    value: String(value),
  }));
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'ttsq-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
    metadataProps,
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

/** Nodes turning a scalar float sample count `t_f` into a sine `wave` of that many samples. */
function sineNodes(): NodeSpec[] {
  return [
    ['Cast', ['t_f'], ['t'], castTo(INT64)],
    ['Range', ['zero', 't', 'one'], ['r']],
    ['Cast', ['r'], ['r_f'], castTo(FLOAT)],
    ['Mul', ['r_f', 'omega'], ['phase']],
    ['Sin', ['phase'], ['wave']],
  ];
}

/**
 * A Kokoro- or Kitten-shaped graph: `tokens` int64 [1,N], `style` float [1,D], `speed` float [1]
 * → `audio` float [T]: a sine of `N × SAMPLES_PER_TOKEN / speed` samples whose amplitude is the
 * style vector's first value, so the speaker shows in the audio.
 */
export function buildStyleTestModel(metadata: Record<string, string | number>): Buffer {
  return serializeGraph({
    name: 'ttsq-test-style',
    nodes: [
      ['Shape', ['tokens'], ['x_shape']],
      ['Gather', ['x_shape', 'one'], ['n']],
      ['Cast', ['n'], ['n_f'], castTo(FLOAT)],
      ['Mul', ['n_f', 'hop'], ['frames']],
      ['Gather', ['speed', 'zero'], ['sp']],
      ['Div', ['frames', 'sp'], ['t_f']],
      ...sineNodes(),
      ['Gather', ['style', 'zero'], ['style_row']],
      ['Gather', ['style_row', 'zero'], ['amp']],
      ['Mul', ['wave', 'amp'], ['audio']],
    ],
    inputs: [
      tensorInput('tokens', INT64, [1, 'N']),
      tensorInput('style', FLOAT, [1, 'D']),
      tensorInput('speed', FLOAT, [1]),
    ],
    outputs: [tensorInput('audio', FLOAT, ['T'])],
    metadata,
  });
}

/**
 * A Matcha-shaped acoustic model (icefall layout): `x` int64 [1,N], `x_length` int64 [1],
 * `noise_scale` and `length_scale` float [1] → `mel` float [1,1,F] with
 * `F = N × FRAMES_PER_TOKEN × length_scale` frames.
 */
export function buildMatchaTestModel(metadata: Record<string, string | number>): Buffer {
  return serializeGraph({
    name: 'ttsq-test-matcha',
    nodes: [
      ['Shape', ['x'], ['x_shape']],
      ['Gather', ['x_shape', 'one'], ['n']],
      ['Cast', ['n'], ['n_f'], castTo(FLOAT)],
      ['Mul', ['n_f', 'frames_per_token'], ['base_frames']],
      ['Gather', ['length_scale', 'zero'], ['ls']],
      ['Mul', ['base_frames', 'ls'], ['f_f']],
      ['Cast', ['f_f'], ['f'], castTo(INT64)],
      ['Range', ['zero', 'f', 'one'], ['r']],
      ['Cast', ['r'], ['r_f'], castTo(FLOAT)],
      ['Reshape', ['r_f', 'out_shape'], ['mel']],
    ],
    inputs: [
      tensorInput('x', INT64, [1, 'N']),
      tensorInput('x_length', INT64, [1]),
      tensorInput('noise_scale', FLOAT, [1]),
      tensorInput('length_scale', FLOAT, [1]),
    ],
    outputs: [tensorInput('mel', FLOAT, [1, 1, 'F'])],
    metadata,
  });
}

/** A HiFi-GAN-shaped vocoder: `mel` float [1,C,F] → `audio` [1,T], a sine of F × 64 samples. */
export function buildHifiganTestVocoder(): Buffer {
  return serializeGraph({
    name: 'ttsq-test-hifigan',
    nodes: [
      ['Shape', ['mel'], ['mel_shape']],
      ['Gather', ['mel_shape', 'two'], ['f']],
      ['Cast', ['f'], ['f_f'], castTo(FLOAT)],
      ['Mul', ['f_f', 'samples_per_frame'], ['t_f']],
      ...sineNodes(),
      ['Unsqueeze', ['wave', 'zero_axes'], ['audio']],
    ],
    inputs: [tensorInput('mel', FLOAT, [1, 'C', 'F'])],
    outputs: [tensorInput('audio', FLOAT, [1, 'T'])],
    metadata: { model_type: 'hifigan' },
  });
}

/** `voices.bin`: `speakers` × `rows` × `width` float32, every value of speaker `s` 0.3 + 0.1·s. */
export function styleVoicesBin(speakers: number, rows: number, width: number): Buffer {
  const values = new Float32Array(speakers * rows * width);
  for (let s = 0; s < speakers; s++) {
    values.fill(0.3 + 0.1 * s, s * rows * width, (s + 1) * rows * width);
  }
  return Buffer.from(values.buffer);
}

/** `tokens.txt` with the phoneme symbols of `piperPhonemeIdMap()` (space, `.`, `^`, `$` …). */
export function phonemeTokens(): string {
  const lines = Object.entries(piperPhonemeIdMap()).map(([symbol, [id]]) =>
    symbol === ' ' ? ` ${id}` : `${symbol} ${id}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Writes a prepared directory `DIR/NAME` from file name → content, `tokens.txt` first. */
export function writePreparedDir(
  dir: string,
  name: string,
  files: Record<string, Buffer | string>,
) {
  const modelDir = path.join(dir, name);
  fs.mkdirSync(modelDir, { recursive: true });
  const names = Object.keys(files).sort(
    (a, b) => Number(b === 'tokens.txt') - Number(a === 'tokens.txt'),
  );
  for (const file of names) fs.writeFileSync(path.join(modelDir, file), files[file] ?? '');
}

/** FFT size of the test Vocos vocoder (its `n_fft` metadata); bins are `n_fft / 2 + 1`. */
export const VOCOS_N_FFT = 16;
/** Hop of the test Vocos vocoder (its `hop_length` metadata). */
export const VOCOS_HOP = 4;

/**
 * A Vocos-shaped vocoder: `mel` float [1,C,F] → `mag`, `x`, `y` float [1,K,F] (magnitude, cosine
 * and sine of the phase of K = n_fft/2+1 bins), which sherpa-onnx turns into audio by inverse STFT.
 */
export function buildVocosTestVocoder(): Buffer {
  const bins = VOCOS_N_FFT / 2 + 1;
  return serializeGraph({
    name: 'ttsq-test-vocos',
    nodes: [
      ['Shape', ['mel'], ['mel_shape']],
      ['Gather', ['mel_shape', 'two_1d'], ['f_1d']],
      ['Concat', ['one_1d', 'bins_1d', 'f_1d'], ['spec_shape'], [axisAttribute(0)]],
      ['Expand', ['half_1d', 'spec_shape'], ['mag']],
      ['Expand', ['alternating', 'spec_shape'], ['x']],
      ['Mul', ['x', 'zero_f'], ['y']],
    ],
    inputs: [tensorInput('mel', FLOAT, [1, 'C', 'F'])],
    outputs: [
      tensorInput('mag', FLOAT, [1, bins, 'F']),
      tensorInput('x', FLOAT, [1, bins, 'F']),
      tensorInput('y', FLOAT, [1, bins, 'F']),
    ],
    metadata: {
      model_type: 'vocos',
      n_fft: VOCOS_N_FFT,
      hop_length: VOCOS_HOP,
      win_length: VOCOS_N_FFT,
    },
    initializers: [
      int64Const('two_1d', [2], [1]),
      int64Const('one_1d', [1], [1]),
      int64Const('bins_1d', [bins], [1]),
      floatConst('half_1d', [0.5], [1]),
      // A phase of π·k puts each frame's impulse mid-window, where the Hann window is 1.
      floatConst(
        'alternating',
        Array.from({ length: bins }, (_, k) => (k % 2 === 0 ? 1 : -1)),
        [1, bins, 1],
      ),
      floatConst('zero_f', [0], []),
    ],
  });
}

function axisAttribute(axis: number) {
  return { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis };
}
