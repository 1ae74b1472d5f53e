// Joins a job's finished segments, in order, into the job's audio, then marks the job
// succeeded. Idempotent: a rerun rewrites the same key with the same bytes.

import { decodeWav, encodeWav, pcmDurationMs } from '../audio/wav.js';
import { PermanentTaskError, TransientTaskError } from '../errors.js';
import type { JobAudio, SegmentResult } from '../jobs/types.js';
import type { Backend } from '../store/backend.js';

/** Where a job's assembled audio lives in the audio store. */
export function jobAudioKey(jobId: string, format: string): string {
  return `jobs/${jobId}/audio.${format}`;
}

/** Where one segment's PCM (as WAV) lives until assembly. */
export function segmentAudioKey(jobId: string, index: number): string {
  return `jobs/${jobId}/segments/${index}.wav`;
}

/**
 * Assembles the job's audio and ends the job as succeeded. Returns false when the job ended
 * some other way meanwhile (canceled), in which case nothing is kept.
 */
export async function assembleJob(
  backend: Backend,
  jobId: string,
  segmentCount: number,
): Promise<boolean> {
  const segments = await backend.jobs.segments(jobId);
  if (segments.length !== segmentCount) {
    throw new TransientTaskError(
      'TTSQ_ASSEMBLY_INCOMPLETE',
      `job ${jobId} has ${segments.length} of ${segmentCount} segments`,
    );
  }
  const { samples, sampleRateHz } = await joinSegments(backend, segments);
  const wav = encodeWav(samples, sampleRateHz);
  const key = jobAudioKey(jobId, 'wav');
  await backend.audio.put(key, wav);

  const audio: JobAudio = {
    key,
    format: 'wav',
    sampleRateHz,
    durationMs: Math.round(pcmDurationMs(samples.length, sampleRateHz)),
    sizeBytes: wav.length,
  };
  const ended = await backend.jobs.finish(jobId, { status: 'succeeded', audio }, Date.now());
  await backend.audio.deletePrefix(ended ? `jobs/${jobId}/segments` : `jobs/${jobId}`);
  return ended;
}

async function joinSegments(
  backend: Backend,
  segments: SegmentResult[],
): Promise<{ samples: Int16Array; sampleRateHz: number }> {
  const sampleRateHz = segments[0]?.sampleRateHz ?? 22_050;
  const total = segments.reduce((sum, segment) => sum + segment.sampleCount, 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const segment of segments) {
    if (segment.sampleRateHz !== sampleRateHz) {
      throw new PermanentTaskError(
        'TTSQ_ASSEMBLY_RATE_MISMATCH',
        'segments have different sample rates',
      );
    }
    const data = await backend.audio.read(segment.audioKey);
    if (!data) {
      throw new TransientTaskError(
        'TTSQ_SEGMENT_AUDIO_MISSING',
        `segment audio ${segment.audioKey} is missing`,
      );
    }
    const decoded = decodeWav(data).samples.subarray(0, segment.sampleCount);
    samples.set(decoded, offset);
    offset += decoded.length;
  }
  return { samples: samples.subarray(0, offset), sampleRateHz };
}
