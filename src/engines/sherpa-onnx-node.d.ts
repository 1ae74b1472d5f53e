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

  export interface OfflineTtsConfig {
    model: {
      vits: OfflineTtsVitsModelConfig;
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
