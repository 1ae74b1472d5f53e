// The filesystem audio store: atomic replacement, ranges, prefixes, and refusal of unsafe keys.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FsAudioStore } from '../src/audio/fs-store.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

void describe('FsAudioStore', () => {
  let rootDir: string;
  let store: FsAudioStore;

  beforeEach(async () => {
    rootDir = await mkdtemp(path.join(os.tmpdir(), 'ttsq-fs-store-'));
    store = new FsAudioStore(path.join(rootDir, 'audio'));
  });

  afterEach(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  void it('reads back what it stored, with its size', async () => {
    const data = Buffer.from('RIFF and some audio bytes');
    await store.put('jobs/abc/audio.wav', data);
    assert.deepEqual(await store.read('jobs/abc/audio.wav'), data);
    assert.equal(await store.size('jobs/abc/audio.wav'), data.length);
  });

  void it('answers null for a missing key, or a key that is a directory', async () => {
    await store.put('jobs/abc/segments/0.wav', Buffer.from('x'));
    for (const key of ['jobs/nope.wav', 'jobs/abc/segments', 'jobs/abc/segments/0.wav/x']) {
      assert.equal(await store.read(key), null, key);
      assert.equal(await store.size(key), null, key);
      assert.equal(await store.open(key), null, key);
    }
  });

  void it('streams the whole value or an inclusive byte range, with the total size', async () => {
    const data = Buffer.from('0123456789abcdef');
    await store.put('jobs/abc/audio.wav', data);

    const whole = await store.open('jobs/abc/audio.wav');
    assert.ok(whole);
    assert.equal(whole.sizeBytes, 16);
    assert.deepEqual(await collect(whole.stream), data);

    const part = await store.open('jobs/abc/audio.wav', { start: 4, end: 9 });
    assert.ok(part);
    assert.equal(part.sizeBytes, 16);
    assert.equal((await collect(part.stream)).toString(), '456789');
  });

  void it('refuses a byte range outside the value with a RangeError', async () => {
    await store.put('jobs/abc/audio.wav', Buffer.from('0123456789'));
    await assert.rejects(store.open('jobs/abc/audio.wav', { start: 5, end: 10 }), RangeError);
    await assert.rejects(store.open('jobs/abc/audio.wav', { start: 6, end: 5 }), RangeError);
  });

  void it('replaces a value atomically and leaves no temp files behind', async () => {
    await store.put('jobs/abc/audio.wav', Buffer.alloc(1000, 1));
    await Promise.all(
      [2, 3, 4, 5].map((fill) => store.put('jobs/abc/audio.wav', Buffer.alloc(2000, fill))),
    );
    const data = await store.read('jobs/abc/audio.wav');
    assert.ok(data);
    assert.equal(data.length, 2000);
    assert.ok(
      data.every((byte) => byte === data[0]),
      'the value is one whole write',
    );
    assert.deepEqual(await listFiles(path.join(rootDir, 'audio')), ['jobs/abc/audio.wav']);
  });

  void it('deletes every key under a prefix and nothing else', async () => {
    await store.put('jobs/abc/segments/0.wav', Buffer.from('a'));
    await store.put('jobs/abc/segments/1.wav', Buffer.from('b'));
    await store.put('jobs/abc/audio.wav', Buffer.from('c'));
    await store.put('jobs/abd/audio.wav', Buffer.from('d'));

    await store.deletePrefix('jobs/abc/segments');
    assert.equal(await store.read('jobs/abc/segments/0.wav'), null);
    assert.equal(await store.size('jobs/abc/audio.wav'), 1);

    await store.deletePrefix('jobs/abc');
    await store.deletePrefix('jobs/never-existed');
    assert.deepEqual(await listFiles(path.join(rootDir, 'audio')), ['jobs/abd/audio.wav']);
  });

  void it('refuses keys that could leave the root with a TypeError', async () => {
    const badKeys = [
      '',
      '../etc/passwd',
      'jobs/../../x',
      'jobs/a..b',
      '/abs/path',
      'jobs//x',
      'jobs/x/',
      '.hidden',
      'jobs/.tmp',
      'jobs\\x',
      'jobs/x y',
      'jobs/\u00e9',
    ];
    for (const key of badKeys) {
      await assert.rejects(store.put(key, Buffer.from('x')), TypeError, key);
      await assert.rejects(store.read(key), TypeError, key);
      await assert.rejects(store.deletePrefix(key), TypeError, key);
    }
  });
});
