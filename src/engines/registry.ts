// The engines ttsq can run, by name. Engine threads create their engine through here.

import type { TtsEngine } from './engine.js';
import { EspeakEngine } from './espeak-engine.js';

/** Every engine name `createEngine` accepts. */
export const ENGINE_NAMES: readonly string[] = Object.freeze(['espeak']);

/**
 * Creates an engine by name, not yet initialized (call `init()`).
 * @throws TypeError naming the engine when it is not one of `ENGINE_NAMES`.
 */
export function createEngine(name: string): TtsEngine {
  switch (name) {
    case 'espeak':
      return new EspeakEngine();
    default:
      throw new TypeError(`Unknown engine "${name}": expected one of ${ENGINE_NAMES.join(', ')}`);
  }
}
