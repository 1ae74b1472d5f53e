// The voice catalogue: workers publish the voices their engines offer; API nodes read it to
// validate requests and answer `GET /v1/voices` without ever loading an engine.

import type { VoiceInfo } from './engine.js';

export interface VoiceCatalog {
  /** Replaces the listed voices of `engine` with `voices`. */
  publish(engine: string, voices: readonly VoiceInfo[]): Promise<void>;
  /** Every published voice, ordered by id. */
  list(): Promise<VoiceInfo[]>;
}
