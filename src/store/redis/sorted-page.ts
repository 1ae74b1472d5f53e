// Newest-first pages over a Redis sorted set scored by time, with the same opaque
// (time, id) cursors as the SQLite store. Ties in time are ordered by member, descending.

import type { Redis } from 'ioredis';
import { decodeCursor, encodeCursor } from '../cursor.js';

/** One page of members, newest first, and the cursor of the next page (or null). */
export interface MemberPage {
  items: string[];
  nextCursor: string | null;
}

/**
 * Reads up to `limit` members of `key` with the highest scores, after `cursor`.
 * @throws ValidationError TTSQ_CURSOR_INVALID for a cursor this function did not return.
 */
export async function readNewestFirst(
  redis: Redis,
  key: string,
  limit: number,
  cursor?: string,
): Promise<MemberPage> {
  const after = cursor === undefined ? null : decodeCursor(cursor);
  const skip = after === null ? 0 : await countTiesNotBefore(redis, key, after.at, after.id);
  const max = after === null ? '+inf' : after.at;
  const flat = await redis.zrevrangebyscore(
    key,
    max,
    '-inf',
    'WITHSCORES',
    'LIMIT',
    skip,
    limit + 1,
  );
  const entries = pairs(flat);
  const items = entries.slice(0, limit);
  const last = items.at(-1);
  const nextCursor =
    entries.length > limit && last !== undefined
      ? encodeCursor({ at: last.score, id: last.member })
      : null;
  return { items: items.map((entry) => entry.member), nextCursor };
}

/** Members scored exactly `at` that sort at or before `id` in descending order: already seen. */
async function countTiesNotBefore(redis: Redis, key: string, at: number, id: string) {
  const ties = await redis.zrangebyscore(key, at, at);
  return ties.filter((member) => member >= id).length;
}

function pairs(flat: string[]): { member: string; score: number }[] {
  const entries: { member: string; score: number }[] = [];
  for (let index = 0; index + 1 < flat.length; index += 2) {
    entries.push({ member: flat[index] ?? '', score: Number(flat[index + 1]) });
  }
  return entries;
}
