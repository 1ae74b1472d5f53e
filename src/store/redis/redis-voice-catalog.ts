// The voice catalogue on Redis: one hash per engine (voice id → info), replaced atomically when
// a worker publishes, and a set of the engines that published.

import type { Redis } from 'ioredis';
import type { VoiceInfo } from '../../engines/engine.js';
import type { VoiceCatalog } from '../../engines/voice-catalog.js';

export class RedisVoiceCatalog implements VoiceCatalog {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async publish(engine: string, voices: readonly VoiceInfo[]): Promise<void> {
    const key = this.#engineKey(engine);
    const multi = this.#redis.multi().del(key).sadd(this.#enginesKey(), engine);
    for (const voice of voices) multi.hset(key, voice.id, JSON.stringify(voice));
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0] ?? new Error('voice catalogue not published');
  }

  async list(): Promise<VoiceInfo[]> {
    const engines = await this.#redis.smembers(this.#enginesKey());
    const pipeline = this.#redis.pipeline();
    for (const engine of engines) pipeline.hvals(this.#engineKey(engine));
    const results = (await pipeline.exec()) ?? [];
    const voices = results.flatMap(([, values]) =>
      (values as string[]).map((json) => JSON.parse(json) as VoiceInfo),
    );
    return voices.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #enginesKey(): string {
    return `${this.#prefix}:voice-engines`;
  }

  #engineKey(engine: string): string {
    return `${this.#prefix}:voices:${engine}`;
  }
}
