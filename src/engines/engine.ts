// The engine contract: an adapter that turns text + voice + options into PCM samples.
// Engines run only inside worker processes, never in the API process.

/** What a voice (and its engine) can do; the API validates requests against it. */
export interface VoiceCapabilities {
  /** Accepts `speed` other than 1. */
  speed: boolean;
  /** Reports word boundaries in `marks`. */
  wordTimings: boolean;
}

/** One voice as listed on `GET /v1/voices`. `id` is engine-scoped: `espeak:en-us`. */
export interface VoiceInfo {
  id: string;
  engine: string;
  name: string;
  /** BCP 47-ish language tag, lower case (`en-us`). */
  language: string;
  sampleRateHz: number;
  capabilities: VoiceCapabilities;
  /** SHA-256 of the voice's model files; absent for engines without model files. */
  modelDigest?: string;
  /** The speaker this voice speaks as, for one speaker of a multi-speaker model. */
  speaker?: string;
  /** Every speaker of a multi-speaker model, on the model's default voice. */
  speakers?: string[];
  /** Set when the voice is present but unusable (bad model): it is listed, not accepted. */
  error?: { code: string; message: string };
}

/** One synthesis call. `voice` is the part of the voice id after `engine:`. */
export interface SynthesisRequest {
  text: string;
  voice: string;
  /** Speaking rate multiplier: 1 is the voice's normal speed. */
  speed: number;
  /** The voice id's prefix, for engines that serve several (`piper`, `coqui`). */
  voicePrefix?: string;
}

/** A word or sentence boundary: where it is in the text and when it is heard. */
export interface SynthesisMark {
  type: 'word' | 'sentence';
  /** Offset and length in UTF-16 code units of the synthesized text. */
  textOffset: number;
  textLength: number;
  audioOffsetMs: number;
}

/** Mono signed 16-bit PCM and its marks. */
export interface SynthesisResult {
  samples: Int16Array;
  sampleRateHz: number;
  marks: SynthesisMark[];
  /** SHA-256 of the model files that produced the audio (part of cache keys). */
  modelDigest?: string;
}

/** An engine adapter. `synthesize` may be synchronous CPU work: hosts run it off the lease loop. */
export interface TtsEngine {
  /** Engine name used as the voice id prefix (`espeak`). */
  readonly name: string;
  /** Changes whenever the same request could produce different audio (part of cache keys). */
  readonly version: string;
  /** Loads the engine; slow work belongs here, not in the first `synthesize`. */
  init(): Promise<void>;
  voices(): Promise<VoiceInfo[]>;
  /** @throws PermanentTaskError for an unknown voice or text the engine refuses. */
  synthesize(request: SynthesisRequest): Promise<SynthesisResult>;
  close(): Promise<void>;
}

/** Splits `espeak:en-us` into engine and engine-local voice name; null when malformed. */
export function parseVoiceId(voiceId: string): { engine: string; voice: string } | null {
  const match = /^([a-z0-9-]+):(\S+)$/.exec(voiceId);
  if (!match?.[1] || !match[2]) return null;
  return { engine: match[1], voice: match[2] };
}
