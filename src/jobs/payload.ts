// Checks a segment task's payload when a worker takes it: the queue is a trust boundary, and a
// malformed payload must fail permanently rather than crash or retry forever.

import { PermanentTaskError } from '../errors.js';
import type { SegmentTaskPayload } from './types.js';

/** @throws PermanentTaskError TTSQ_TASK_PAYLOAD_INVALID when a field is missing or mistyped. */
export function parseSegmentPayload(value: unknown): SegmentTaskPayload {
  if (typeof value !== 'object' || value === null) throw invalid('not an object');
  const record = value as Record<string, unknown>;
  const { jobId, index, segmentCount, text, voice, speed } = record;
  if (typeof jobId !== 'string' || jobId === '') throw invalid('jobId');
  if (!isCount(segmentCount) || segmentCount < 1) throw invalid('segmentCount');
  if (!isCount(index) || index >= segmentCount) throw invalid('index');
  if (typeof text !== 'string') throw invalid('text');
  if (typeof voice !== 'string') throw invalid('voice');
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed <= 0) throw invalid('speed');
  return { jobId, index, segmentCount, text, voice, speed };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function invalid(field: string): PermanentTaskError {
  return new PermanentTaskError('TTSQ_TASK_PAYLOAD_INVALID', `segment task payload: bad ${field}`);
}
