// Checks shared by every audio store: keys are server-made relative paths, ranges lie inside
// the stored value.

import type { ByteRange } from './store.js';

const KEY_PATTERN = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;

/** @throws TypeError naming the key when it is not a safe relative path. */
export function assertKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.includes('..')) {
    throw new TypeError(`Invalid audio store key ${JSON.stringify(key)}`);
  }
}

/** @throws RangeError when the inclusive range does not lie within `sizeBytes`. */
export function assertRange(range: ByteRange, sizeBytes: number): void {
  const { start, end } = range;
  const valid = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start;
  if (!valid || end >= sizeBytes) {
    throw new RangeError(`Byte range ${start}-${end} is outside 0-${sizeBytes - 1}`);
  }
}
