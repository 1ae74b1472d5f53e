// The audio store of distributed mode: each value is one binary Redis string that expires after
// the retention period, so every API node can serve what any worker wrote. Values are written
// whole (SET), so a reader sees the old or the new value, never a part.

import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { assertKey, assertRange } from './keys.js';
import type { AudioStore, ByteRange, StoredAudio } from './store.js';

/** Path segments that name a group: `jobs/<id>` holds every key of one job. */
const GROUP_DEPTH = 2;

/** Where a Redis audio store keeps its values and for how long. */
export interface RedisAudioStoreOptions {
  prefix: string;
  /** Time to live of every value, in seconds (the job's audio retention). */
  retentionSeconds: number;
}

/**
 * `AudioStore` on Redis. Keys are grouped by their first two path segments (a job) in a set, so
 * `deletePrefix` never scans the keyspace. Large audio costs Redis memory: see docs/deploy.md.
 */
export class RedisAudioStore implements AudioStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, options: RedisAudioStoreOptions) {
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#ttlMs = options.retentionSeconds * 1_000;
  }

  /** @throws TypeError for an invalid key. */
  async put(key: string, data: Uint8Array): Promise<void> {
    const group = this.#groupKey(key);
    const results = await this.#redis
      .multi()
      .set(
        this.#valueKey(key),
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        'PX',
        this.#ttlMs,
      )
      .sadd(group, key)
      .pexpire(group, this.#ttlMs)
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (failed) throw failed[0] ?? new Error(`audio ${key} was not stored`);
  }

  read(key: string): Promise<Buffer | null> {
    return this.#redis.getBuffer(this.#valueKey(key));
  }

  /**
   * Reads the size, then the bytes (or one range of them). Values are written once per key and
   * job, so both reads see the same value.
   * @throws RangeError when `range` does not fit the value.
   */
  async open(key: string, range?: ByteRange): Promise<StoredAudio | null> {
    const valueKey = this.#valueKey(key);
    const sizeBytes = await this.#redis.strlen(valueKey);
    if (sizeBytes === 0) return null;
    if (range) assertRange(range, sizeBytes);
    const data = range
      ? await this.#redis.getrangeBuffer(valueKey, range.start, range.end)
      : await this.#redis.getBuffer(valueKey);
    if (data === null) return null;
    return { stream: Readable.from([data]), sizeBytes };
  }

  async size(key: string): Promise<number | null> {
    const sizeBytes = await this.#redis.strlen(this.#valueKey(key));
    return sizeBytes === 0 ? null : sizeBytes;
  }

  /** Deletes `prefix` and every key under it; a missing prefix is not an error. */
  async deletePrefix(prefix: string): Promise<void> {
    const group = this.#groupKey(prefix);
    const members = await this.#redis.smembers(group);
    const doomed = members.filter((key) => key === prefix || key.startsWith(`${prefix}/`));
    if (doomed.length === 0) return;
    await this.#redis
      .multi()
      .del(...doomed.map((key) => this.#valueKey(key)))
      .srem(group, ...doomed)
      .exec();
  }

  #valueKey(key: string): string {
    assertKey(key);
    return `${this.#prefix}:audio:${key}`;
  }

  #groupKey(key: string): string {
    assertKey(key);
    return `${this.#prefix}:audio-group:${key.split('/').slice(0, GROUP_DEPTH).join('/')}`;
  }
}
