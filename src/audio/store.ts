// The audio store contract: where segment PCM and assembled job audio live. Keys are generated
// by the server only (`jobs/<id>/audio.wav`), never taken from a client.

import type { Readable } from 'node:stream';

/** An inclusive byte range, as in an HTTP `Range` header. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A stored object being read: its stream and its total size in bytes. */
export interface StoredAudio {
  stream: Readable;
  sizeBytes: number;
}

export interface AudioStore {
  /** Writes atomically (temp file, fsync, rename): a reader sees the old or the new whole value. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Whole value, or null when absent. */
  read(key: string): Promise<Buffer | null>;
  /** Streams the value (or one byte range of it); null when absent. */
  open(key: string, range?: ByteRange): Promise<StoredAudio | null>;
  /** Size in bytes, or null when absent. */
  size(key: string): Promise<number | null>;
  /** Deletes every key under `prefix/` (a job's files). */
  deletePrefix(prefix: string): Promise<void>;
}
