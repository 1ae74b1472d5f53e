// The minimal shape of `sherpa-onnx-node` that ttsq uses for offline TTS; the package has no types.

declare module 'sherpa-onnx-node' {
  /** VITS model files and scales; `dataDir` is espeak-ng data for Piper and Coqui models. */
  export interface OfflineTtsVitsModelConfig {
    model: string;
    tokens: string;
    lexicon?: string;
    dataDir?: string;
    noiseScale?: number;
    noiseScaleW?: number;
    lengthScale?: number;
  }

  /** Kokoro: model, style vectors (`voices.bin`), tokens, espeak-ng data; lexicons for v1.0+. */
  export interface OfflineTtsKokoroModelConfig {
    model: string;
    voices: string;
    tokens: string;
    dataDir: string;
    lexicon?: string;
    lang?: string;
    lengthScale?: number;
  }

  /** Kitten: model, style vectors (`voices.bin`), tokens and espeak-ng data. */
  export interface OfflineTtsKittenModelConfig {
    model: string;
    voices: string;
    tokens: string;
    dataDir: string;
    lengthScale?: number;
  }

  /** Matcha: acoustic model and vocoder, tokens, and espeak-ng data or a lexicon. */
  export interface OfflineTtsMatchaModelConfig {
    acousticModel: string;
    vocoder?: string;
    tokens: string;
    lexicon?: string;
    dataDir?: string;
    noiseScale?: number;
    lengthScale?: number;
  }

  /** Exactly one of the model blocks is given. */
  export interface OfflineTtsConfig {
    model: {
      vits?: OfflineTtsVitsModelConfig;
      kokoro?: OfflineTtsKokoroModelConfig;
      kitten?: OfflineTtsKittenModelConfig;
      matcha?: OfflineTtsMatchaModelConfig;
      numThreads?: number;
      debug?: boolean | number;
      provider?: string;
    };
    maxNumSentences?: number;
  }

  export interface GeneratedAudio {
    samples: Float32Array;
    sampleRate: number;
  }

  export class OfflineTts {
    constructor(config: OfflineTtsConfig);
    /** Loads the model on a libuv thread. A malformed model may end the whole process. */
    static createAsync(config: OfflineTtsConfig): Promise<OfflineTts>;
    readonly numSpeakers: number;
    readonly sampleRate: number;
    generate(request: { text: string; sid: number; speed: number }): GeneratedAudio;
    generateAsync(request: { text: string; sid: number; speed: number }): Promise<GeneratedAudio>;
  }
}
