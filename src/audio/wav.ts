// WAV (RIFF/WAVE, PCM signed 16-bit, mono) encoding and decoding of engine samples. Samples are
// copied as raw bytes, which assumes a little-endian host (x86-64 and arm64 both are).

const RIFF_HEADER_BYTES = 12;
const CHUNK_HEADER_BYTES = 8;
const FMT_CHUNK_BYTES = 16;
const WAV_HEADER_BYTES = RIFF_HEADER_BYTES + CHUNK_HEADER_BYTES + FMT_CHUNK_BYTES + 8;
const FORMAT_PCM = 1;
const BITS_PER_SAMPLE = 16;
const BYTES_PER_SAMPLE = 2;
/** The RIFF size field is 32 bits and counts everything after its first 8 bytes. */
const MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8);

/** Decoded PCM: mono signed 16-bit samples and their rate. */
export interface DecodedWav {
  samples: Int16Array;
  sampleRateHz: number;
}

interface PcmFormat {
  sampleRateHz: number;
}

/**
 * Encodes mono s16 samples as a 44-byte-header WAV file.
 * @throws RangeError for a non-positive sample rate or more than 4 GiB of samples.
 */
export function encodeWav(samples: Int16Array, sampleRateHz: number): Buffer {
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) {
    throw new RangeError(`sampleRateHz must be a positive integer, got ${sampleRateHz}`);
  }
  if (samples.byteLength > MAX_DATA_BYTES) {
    throw new RangeError(`${samples.byteLength} bytes of samples do not fit in a WAV file`);
  }

  const wav = Buffer.alloc(WAV_HEADER_BYTES + samples.byteLength);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(wav.length - 8, 4);
  wav.write('WAVE', 8, 'ascii');

  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(FMT_CHUNK_BYTES, 16);
  wav.writeUInt16LE(FORMAT_PCM, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(sampleRateHz, 24);
  wav.writeUInt32LE(sampleRateHz * BYTES_PER_SAMPLE, 28);
  wav.writeUInt16LE(BYTES_PER_SAMPLE, 32);
  wav.writeUInt16LE(BITS_PER_SAMPLE, 34);

  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples.byteLength, 40);
  wav.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), WAV_HEADER_BYTES);
  return wav;
}

/**
 * Decodes a PCM s16 mono WAV file, skipping chunks other than `fmt ` and `data`. When the data
 * is 2-byte aligned in memory the samples are a view of `data`, otherwise a copy.
 * @throws TypeError for input that is not RIFF/WAVE, not PCM s16 mono, or is truncated.
 */
export function decodeWav(data: Uint8Array): DecodedWav {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < RIFF_HEADER_BYTES || tag(view, 0) !== 'RIFF' || tag(view, 8) !== 'WAVE') {
    throw new TypeError('Not a WAV file: no RIFF/WAVE header');
  }

  let format: PcmFormat | null = null;
  let offset = RIFF_HEADER_BYTES;
  while (offset + CHUNK_HEADER_BYTES <= data.byteLength) {
    const id = tag(view, offset);
    const sizeBytes = view.getUint32(offset + 4, true);
    const bodyOffset = offset + CHUNK_HEADER_BYTES;
    if (bodyOffset + sizeBytes > data.byteLength) {
      throw new TypeError(`Truncated WAV file: chunk "${id}" runs past the end`);
    }
    if (id === 'fmt ') format = readFormat(view, bodyOffset, sizeBytes);
    if (id === 'data') {
      if (!format) throw new TypeError('Invalid WAV file: "data" comes before "fmt "');
      return { samples: samplesAt(data, bodyOffset, sizeBytes), sampleRateHz: format.sampleRateHz };
    }
    offset = bodyOffset + sizeBytes + (sizeBytes % 2);
  }
  throw new TypeError('Truncated WAV file: no "data" chunk');
}

/** Duration of `sampleCount` samples in milliseconds (not rounded). */
export function pcmDurationMs(sampleCount: number, sampleRateHz: number): number {
  if (sampleRateHz <= 0) throw new RangeError(`sampleRateHz must be positive, got ${sampleRateHz}`);
  return (sampleCount * 1000) / sampleRateHz;
}

function tag(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

function readFormat(view: DataView, offset: number, sizeBytes: number): PcmFormat {
  if (sizeBytes < FMT_CHUNK_BYTES) throw new TypeError('Invalid WAV file: "fmt " chunk too short');
  const audioFormat = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRateHz = view.getUint32(offset + 4, true);
  const bitsPerSample = view.getUint16(offset + 14, true);
  if (audioFormat !== FORMAT_PCM || bitsPerSample !== BITS_PER_SAMPLE || channels !== 1) {
    const found = `format ${audioFormat}, ${channels} channels, ${bitsPerSample} bits`;
    throw new TypeError(`Unsupported WAV file: expected PCM 16-bit mono, found ${found}`);
  }
  if (sampleRateHz === 0) throw new TypeError('Invalid WAV file: sample rate is 0');
  return { sampleRateHz };
}

function samplesAt(data: Uint8Array, offset: number, sizeBytes: number): Int16Array {
  if (sizeBytes % BYTES_PER_SAMPLE !== 0) {
    throw new TypeError(`Invalid WAV file: ${sizeBytes} data bytes is not whole 16-bit samples`);
  }
  const byteOffset = data.byteOffset + offset;
  const sampleCount = sizeBytes / BYTES_PER_SAMPLE;
  if (byteOffset % BYTES_PER_SAMPLE === 0) {
    return new Int16Array(data.buffer, byteOffset, sampleCount);
  }
  const copy = new Int16Array(sampleCount);
  new Uint8Array(copy.buffer).set(data.subarray(offset, offset + sizeBytes));
  return copy;
}
