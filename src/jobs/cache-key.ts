// Cache keys of segments: a hash of everything that changes a segment's audio. The output
// format is not part of it: it is applied after the cache, on assembly.

import { createHash } from 'node:crypto';

/** What determines a segment's PCM. `modelDigest` is empty for engines without model files. */
export interface CacheKeyInput {
  engine: string;
  engineVersion: string;
  modelDigest: string;
  voice: string;
  text: string;
  speed: number;
  sampleRateHz: number;
}

/** Normalizes text the way synthesis sees it: Unicode NFC, collapsed whitespace, trimmed. */
export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** Hex SHA-256 over the inputs, versioned so a change of scheme never collides with the old. */
export function segmentCacheKey(input: CacheKeyInput): string {
  const fields = [
    'ttsq-segment-v1',
    input.engine,
    input.engineVersion,
    input.modelDigest,
    input.voice,
    normalizeText(input.text),
    input.speed.toString(),
    input.sampleRateHz.toString(),
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}
