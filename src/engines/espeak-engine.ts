// The eSpeak NG engine: one warm WASM instance of `@echogarden/espeak-ng-emscripten`. Its
// synthesis is one long synchronous call, so it runs inside an engine thread, never on a worker's
// main loop.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import createEspeakNgModule, {
  type EspeakEvent,
  type EspeakNgWorker,
  type EspeakVoiceEntry,
} from '@echogarden/espeak-ng-emscripten';
import { PermanentTaskError, toError } from '../errors.js';
import type {
  SynthesisMark,
  SynthesisRequest,
  SynthesisResult,
  TtsEngine,
  VoiceInfo,
} from './engine.js';

const ENGINE_NAME = 'espeak';
const PACKAGE_NAME = '@echogarden/espeak-ng-emscripten';

/** eSpeak's normal speaking rate, in words per minute: `speed` 1. */
const DEFAULT_RATE_WPM = 175;
/** The range of rates eSpeak NG accepts, in words per minute. */
const MIN_RATE_WPM = 80;
const MAX_RATE_WPM = 450;

/**
 * Voice and text `init()` synthesizes once, so the first request does not pay for lazy loading and
 * the WASM code is partly optimized (a sentence halves the next call's time; a word barely helps).
 */
const WARM_UP_VOICE = 'gmw/en-US';
const WARM_UP_TEXT =
  'The quick brown fox jumps over the lazy dog, and then it runs off into the woods.';

interface EspeakVoice {
  identifier: string;
  info: VoiceInfo;
}

/** Reads the installed package version: it changes the audio, so it is part of cache keys. */
function readPackageVersion(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${PACKAGE_NAME}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') {
    throw new TypeError(`${manifestPath} has no version`);
  }
  return manifest.version;
}

/** `gmw/en-US` → `en-us`: the last path part of the identifier, lower-cased. */
function voiceNameOf(identifier: string): string {
  return (identifier.split('/').pop() ?? identifier).toLowerCase();
}

/** Maps eSpeak's voice list to ttsq voices; when two names collide the first one wins. */
function indexVoices(entries: EspeakVoiceEntry[], sampleRateHz: number): Map<string, EspeakVoice> {
  const voices = new Map<string, EspeakVoice>();
  for (const entry of entries) {
    const name = voiceNameOf(entry.identifier);
    if (name === '' || voices.has(name)) continue;
    const info: VoiceInfo = {
      id: `${ENGINE_NAME}:${name}`,
      engine: ENGINE_NAME,
      name: entry.name,
      language: (entry.languages[0]?.name ?? name).toLowerCase(),
      sampleRateHz,
      capabilities: { speed: true, wordTimings: true },
    };
    voices.set(name, { identifier: entry.identifier, info });
  }
  return voices;
}

/** `speed` 1 is 175 wpm; the result is clamped to what eSpeak accepts. */
function rateForSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) {
    const message = `speed must be a positive number, got ${speed}`;
    throw new PermanentTaskError('TTSQ_SPEED_INVALID', message);
  }
  const rateWpm = Math.round(DEFAULT_RATE_WPM * speed);
  return Math.min(MAX_RATE_WPM, Math.max(MIN_RATE_WPM, rateWpm));
}

/** UTF-16 offset of each code point of `text`, plus one past the end. */
function utf16OffsetsByCodePoint(text: string): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const char of text) {
    offsets.push(offset);
    offset += char.length;
  }
  offsets.push(offset);
  return offsets;
}

/**
 * Turns eSpeak's word and sentence events into marks. eSpeak counts 1-based code points; marks use
 * 0-based UTF-16 offsets. A sentence runs to the next sentence (or the end), trailing space cut.
 */
function marksFromEvents(text: string, events: EspeakEvent[]): SynthesisMark[] {
  const offsets = utf16OffsetsByCodePoint(text);
  const utf16At = (codePoint: number): number =>
    offsets[Math.min(Math.max(codePoint, 0), offsets.length - 1)] ?? text.length;

  const boundaries = events.filter((event) => event.type === 'word' || event.type === 'sentence');
  const marks = boundaries.map((event): SynthesisMark => {
    const start = utf16At(event.text_position - 1);
    const end = utf16At(event.text_position - 1 + event.word_length);
    return {
      type: event.type === 'word' ? 'word' : 'sentence',
      textOffset: start,
      textLength: end - start,
      audioOffsetMs: event.audio_position,
    };
  });
  return withSentenceLengths(text, marks);
}

function withSentenceLengths(text: string, marks: SynthesisMark[]): SynthesisMark[] {
  const sentenceStarts = marks.filter((m) => m.type === 'sentence').map((m) => m.textOffset);
  return marks.map((mark) => {
    if (mark.type !== 'sentence') return mark;
    const next = sentenceStarts.find((start) => start > mark.textOffset) ?? text.length;
    const sentence = text.slice(mark.textOffset, next).trimEnd();
    return { ...mark, textLength: sentence.length };
  });
}

function concatSamples(chunks: Int16Array[]): Int16Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    samples.set(chunk, offset);
    offset += chunk.length;
  }
  return samples;
}

/**
 * eSpeak NG through its Emscripten build: 140 voices (`espeak:en-us`, …), 22050 Hz mono, speed
 * and word timings. Call `init()` once; `synthesize` blocks its thread for the whole call.
 */
export class EspeakEngine implements TtsEngine {
  readonly name = ENGINE_NAME;
  readonly version = `espeak-ng-emscripten@${readPackageVersion()}`;

  #espeak: EspeakNgWorker | null = null;
  #voices = new Map<string, EspeakVoice>();
  #sampleRateHz = 0;

  /** Instantiates the WASM module, lists the voices and warms up the default voice. */
  async init(): Promise<void> {
    if (this.#espeak) return;
    const espeakModule = await createEspeakNgModule();
    const espeak = new espeakModule.eSpeakNGWorker();
    this.#sampleRateHz = espeak.samplerate;
    this.#voices = indexVoices(espeak.list_voices(), this.#sampleRateHz);
    if (espeak.set_voice(WARM_UP_VOICE) === 0) espeak.synthesize(WARM_UP_TEXT, () => false);
    this.#espeak = espeak;
  }

  voices(): Promise<VoiceInfo[]> {
    return Promise.resolve([...this.#voices.values()].map((voice) => structuredClone(voice.info)));
  }

  /**
   * Synthesizes `request.text` with one voice; whitespace-only text gives zero samples.
   * @throws PermanentTaskError `TTSQ_VOICE_UNKNOWN` for a voice eSpeak does not have.
   */
  synthesize(request: SynthesisRequest): Promise<SynthesisResult> {
    try {
      return Promise.resolve(this.#synthesizeNow(request));
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }

  close(): Promise<void> {
    this.#espeak = null;
    this.#voices.clear();
    return Promise.resolve();
  }

  #synthesizeNow(request: SynthesisRequest): SynthesisResult {
    const espeak = this.#ready();
    const voice = this.#voices.get(request.voice.toLowerCase());
    if (!voice) {
      throw new PermanentTaskError('TTSQ_VOICE_UNKNOWN', `Unknown eSpeak voice "${request.voice}"`);
    }
    const rateWpm = rateForSpeed(request.speed);
    if (request.text.trim() === '') {
      return { samples: new Int16Array(0), sampleRateHz: this.#sampleRateHz, marks: [] };
    }

    if (espeak.set_voice(voice.identifier) !== 0) {
      const message = `eSpeak failed to load voice "${voice.identifier}"`;
      throw new PermanentTaskError('TTSQ_VOICE_UNUSABLE', message);
    }
    espeak.set_rate(rateWpm);

    const chunks: Int16Array[] = [];
    const events: EspeakEvent[] = [];
    espeak.synthesize(request.text, (samples, chunkEvents) => {
      chunks.push(samples);
      events.push(...chunkEvents);
      return false;
    });
    return {
      samples: concatSamples(chunks),
      sampleRateHz: this.#sampleRateHz,
      marks: marksFromEvents(request.text, events),
    };
  }

  #ready(): EspeakNgWorker {
    if (!this.#espeak) throw new Error('EspeakEngine.init() must be called before synthesize()');
    return this.#espeak;
  }
}
