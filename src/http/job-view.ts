// The job object as the API shows it: ISO timestamps, progress 0..1, and the audio's URL.

import type { JobRecord } from '../jobs/types.js';

export interface JobView {
  id: string;
  status: JobRecord['status'];
  progress: number;
  voice: string;
  format: string;
  speed: number;
  priority: number;
  segments: { total: number; done: number };
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: { code: string; message: string };
  audio?: {
    url: string;
    format: string;
    durationMs: number;
    sizeBytes: number;
    sampleRateHz: number;
  };
}

/** Renders a job for a response. */
export function toJobView(job: JobRecord): JobView {
  const view: JobView = {
    id: job.id,
    status: job.status,
    progress: progressOf(job),
    voice: job.request.voice,
    format: job.request.format,
    speed: job.request.speed,
    priority: job.request.priority,
    segments: { total: job.segmentCount, done: job.segmentsDone },
    attempts: job.attempts,
    createdAt: iso(job.createdAt),
    startedAt: job.startedAt === null ? null : iso(job.startedAt),
    finishedAt: job.finishedAt === null ? null : iso(job.finishedAt),
  };
  if (job.error) view.error = job.error;
  if (job.audio && job.status === 'succeeded') {
    const { format, durationMs, sizeBytes, sampleRateHz } = job.audio;
    view.audio = { url: `/v1/jobs/${job.id}/audio`, format, durationMs, sizeBytes, sampleRateHz };
  }
  return view;
}

function progressOf(job: JobRecord): number {
  if (job.status === 'succeeded') return 1;
  if (job.segmentCount === 0) return 0;
  // All segments done but not yet assembled is not quite finished.
  return Math.min(0.99, Math.round((job.segmentsDone / job.segmentCount) * 1000) / 1000);
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
