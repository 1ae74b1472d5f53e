// The minimal shape of `@echogarden/espeak-ng-emscripten` that ttsq uses; the package has no types.

declare module '@echogarden/espeak-ng-emscripten' {
  /** A synthesis event; `text_position` is a 1-based code point index, `audio_position` in ms. */
  export interface EspeakEvent {
    type: string;
    text_position: number;
    word_length: number;
    audio_position: number;
    id?: number | string;
  }

  /** One installed voice: `identifier` is what `set_voice` accepts (`gmw/en-US`). */
  export interface EspeakVoiceEntry {
    name: string;
    identifier: string;
    languages: { priority: number; name: string }[];
  }

  /** One eSpeak NG instance. Every method is a synchronous WASM call. */
  export interface EspeakNgWorker {
    readonly samplerate: number;
    list_voices(): EspeakVoiceEntry[];
    /** Returns 0 on success. */
    set_voice(identifier: string): number;
    /** Words per minute; eSpeak's default is 175. */
    set_rate(wordsPerMinute: number): void;
    /** Calls back with each chunk of samples and its events; returning true stops synthesis. */
    synthesize(
      text: string,
      onChunk: (samples: Int16Array, events: EspeakEvent[]) => boolean,
    ): void;
  }

  export interface EspeakNgModule {
    eSpeakNGWorker: new () => EspeakNgWorker;
  }

  /** Instantiates the WASM module and loads its data file (~100 ms). */
  export default function createEspeakNgModule(): Promise<EspeakNgModule>;
}
