// WAV encoding and decoding: exact headers, lossless round trips, and refusal of bad input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWav, encodeWav, pcmDurationMs } from '../src/audio/wav.js';

function ramp(sampleCount: number): Int16Array {
  return Int16Array.from({ length: sampleCount }, (_, i) => ((i * 257) % 65_536) - 32_768);
}

/** A chunk with an id, a little-endian size and a body (padded to an even length). */
function chunk(id: string, body: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.write(id, 0, 'ascii');
  header.writeUInt32LE(body.length, 4);
  const pad = body.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0);
  return Buffer.concat([header, body, pad]);
}

function riff(chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'ascii'), ...chunks]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

function fmtBody(audioFormat: number, channels: number, rateHz: number, bits: number): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt16LE(audioFormat, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(rateHz, 4);
  body.writeUInt32LE((rateHz * channels * bits) / 8, 8);
  body.writeUInt16LE((channels * bits) / 8, 12);
  body.writeUInt16LE(bits, 14);
  return body;
}

void describe('encodeWav', () => {
  void it('writes a 44-byte PCM s16 mono header with the right sizes', () => {
    const samples = ramp(1000);
    const wav = encodeWav(samples, 22_050);
    assert.equal(wav.length, 44 + 2000);
    assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
    assert.equal(wav.readUInt32LE(4), wav.length - 8);
    assert.equal(wav.toString('ascii', 8, 16), 'WAVEfmt ');
    assert.equal(wav.readUInt32LE(16), 16);
    assert.equal(wav.readUInt16LE(20), 1, 'PCM');
    assert.equal(wav.readUInt16LE(22), 1, 'mono');
    assert.equal(wav.readUInt32LE(24), 22_050);
    assert.equal(wav.readUInt32LE(28), 44_100, 'byte rate');
    assert.equal(wav.readUInt16LE(32), 2, 'block align');
    assert.equal(wav.readUInt16LE(34), 16);
    assert.equal(wav.toString('ascii', 36, 40), 'data');
    assert.equal(wav.readUInt32LE(40), 2000);
    assert.equal(wav.readInt16LE(44), samples[0]);
  });

  void it('encodes a sub-array view from its own offset', () => {
    const whole = ramp(10);
    const { samples } = decodeWav(encodeWav(whole.subarray(3, 7), 8000));
    assert.deepEqual([...samples], [...whole.subarray(3, 7)]);
  });

  void it('refuses a sample rate that is not a positive integer', () => {
    assert.throws(() => encodeWav(ramp(4), 0), RangeError);
    assert.throws(() => encodeWav(ramp(4), 22_050.5), RangeError);
  });
});

void describe('decodeWav', () => {
  void it('round-trips samples and sample rate, including an empty file', () => {
    for (const samples of [ramp(12_345), new Int16Array(0)]) {
      const decoded = decodeWav(encodeWav(samples, 24_000));
      assert.equal(decoded.sampleRateHz, 24_000);
      assert.deepEqual(decoded.samples, samples);
    }
  });

  void it('decodes data that sits at an odd byte offset in memory', () => {
    const wav = encodeWav(ramp(100), 16_000);
    const shifted = new Uint8Array(wav.length + 1);
    shifted.set(wav, 1);
    const decoded = decodeWav(shifted.subarray(1));
    assert.deepEqual(decoded.samples, ramp(100));
  });

  void it('skips unknown chunks, including odd-sized ones with a pad byte', () => {
    const samples = ramp(50);
    const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const wav = riff([
      chunk('LIST', Buffer.from('odd')),
      chunk('fmt ', fmtBody(1, 1, 11_025, 16)),
      chunk('fact', Buffer.alloc(4)),
      chunk('data', data),
    ]);
    const decoded = decodeWav(wav);
    assert.equal(decoded.sampleRateHz, 11_025);
    assert.deepEqual(decoded.samples, samples);
  });

  void it('rejects garbage and non-WAV input with a TypeError', () => {
    assert.throws(() => decodeWav(new Uint8Array(0)), TypeError);
    assert.throws(() => decodeWav(Buffer.from('definitely not a wave file at all')), TypeError);
    assert.throws(() => decodeWav(riff([chunk('data', Buffer.alloc(4))])), TypeError);
  });

  void it('rejects stereo, 8-bit and float formats with a TypeError', () => {
    for (const fmt of [
      fmtBody(1, 2, 22_050, 16),
      fmtBody(1, 1, 22_050, 8),
      fmtBody(3, 1, 22_050, 32),
    ]) {
      const wav = riff([chunk('fmt ', fmt), chunk('data', Buffer.alloc(8))]);
      assert.throws(() => decodeWav(wav), /Unsupported WAV file/);
    }
  });

  void it('rejects truncated files with a TypeError', () => {
    const wav = encodeWav(ramp(1000), 22_050);
    for (const length of [10, 30, 43, 44 + 1000, wav.length - 1]) {
      assert.throws(() => decodeWav(wav.subarray(0, length)), TypeError, `length ${length}`);
    }
  });
});

void describe('pcmDurationMs', () => {
  void it('converts a sample count at a rate to milliseconds', () => {
    assert.equal(pcmDurationMs(22_050, 22_050), 1000);
    assert.equal(pcmDurationMs(11_025, 22_050), 500);
    assert.equal(pcmDurationMs(0, 16_000), 0);
  });
});
