// The audio store on local disk: one file per key under a root directory, each written through a
// temp file, fsync and rename so that a rerun task replaces its output and never corrupts it.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { assertKey, assertRange } from './keys.js';
import type { AudioStore, ByteRange, StoredAudio } from './store.js';

/** Errors that mean "no such key": the file, or a directory on its path, is missing. */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && ABSENT_CODES.has(code);
}

/** Makes a rename (or a removal) in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(filePath: string, data: Uint8Array): Promise<void> {
  const handle = await open(filePath, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Stores audio as files under `rootDir`; keys are relative paths (`jobs/<id>/audio.wav`). */
export class FsAudioStore implements AudioStore {
  readonly #rootDir: string;

  /** `rootDir` is created on the first `put`. */
  constructor(rootDir: string) {
    this.#rootDir = path.resolve(rootDir);
  }

  /**
   * Writes `data` to a temp file beside the target (its name starts with a dot, which no key
   * can), fsyncs it, renames it over the key and fsyncs the directory.
   * @throws TypeError for an invalid key.
   */
  async put(key: string, data: Uint8Array): Promise<void> {
    const filePath = this.#pathOf(key);
    const dir = path.dirname(filePath);
    const tempPath = path.join(
      dir,
      `.${path.basename(filePath)}.${randomBytes(8).toString('hex')}.tmp`,
    );
    await mkdir(dir, { recursive: true });
    try {
      await writeDurably(tempPath, data);
      await rename(tempPath, filePath);
    } catch (error) {
      await unlink(tempPath).catch(() => undefined);
      throw error;
    }
    await syncDirectory(dir);
  }

  async read(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.#pathOf(key));
    } catch (error) {
      if (isAbsent(error)) return null;
      throw error;
    }
  }

  /**
   * Opens the file once, so the size and the stream belong to the same version even if a `put`
   * replaces it meanwhile.
   * @throws RangeError when `range` does not fit the value.
   */
  async open(key: string, range?: ByteRange): Promise<StoredAudio | null> {
    const filePath = this.#pathOf(key);
    const handle = await open(filePath, 'r').catch((error: unknown) => {
      if (isAbsent(error)) return null;
      throw error;
    });
    if (!handle) return null;
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return null;
      }
      if (range) assertRange(range, info.size);
      const stream = handle.createReadStream(range ?? {});
      return { stream, sizeBytes: info.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const info = await stat(this.#pathOf(key));
      return info.isFile() ? info.size : null;
    } catch (error) {
      if (isAbsent(error)) return null;
      throw error;
    }
  }

  /** Removes `rootDir/prefix` and everything under it; a missing prefix is not an error. */
  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.#pathOf(prefix), { recursive: true, force: true });
  }

  #pathOf(key: string): string {
    assertKey(key);
    return path.join(this.#rootDir, ...key.split('/'));
  }
}
