// The job endpoints: submit, read, list, cancel, and download the audio.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError, TtsqError, ValidationError } from '../../errors.js';
import { isJobId } from '../../ids.js';
import type { JobService, JobSubmission } from '../../jobs/job-service.js';
import type { JobRecord, JobStatus } from '../../jobs/types.js';
import { JOB_STATUSES } from '../../jobs/types.js';
import type { Backend } from '../../store/backend.js';
import { errorBody } from '../error-handler.js';
import { toJobView } from '../job-view.js';
import { parseRange } from '../range.js';

/** The owner of every job until API keys and tenants exist. */
export const DEFAULT_OWNER = 'default';

/** How often a waiting audio request re-reads its job, in ms. */
const WAIT_POLL_MS = 100;
const CONTENT_TYPES: Record<string, string> = { wav: 'audio/wav' };

const submitSchema = {
  body: {
    type: 'object',
    required: ['text'],
    additionalProperties: false,
    properties: {
      text: { type: 'string' },
      voice: { type: 'string', minLength: 1, maxLength: 200 },
      format: { type: 'string', enum: ['wav'] },
      speed: { type: 'number', minimum: 0.25, maximum: 4 },
      priority: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 100 } },
} as const;

interface IdParams {
  id: string;
}

export interface JobRouteOptions {
  maxWaitSeconds: number;
  /** Aborted when the server starts closing: waiting requests answer at once. */
  shutdown: AbortSignal;
}

export function jobRoutes(
  app: FastifyInstance,
  jobs: JobService,
  backend: Backend,
  options: JobRouteOptions,
): void {
  app.post<{ Body: JobSubmission }>(
    '/v1/jobs',
    { schema: submitSchema },
    async (request, reply) => {
      const job = await jobs.submit(request.body, DEFAULT_OWNER);
      return reply.status(202).header('location', `/v1/jobs/${job.id}`).send(toJobView(job));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/jobs',
    { schema: { querystring: listQuerySchema } },
    async (request) => {
      const query = parseListQuery(request.query);
      const page = await jobs.list({ ownerId: DEFAULT_OWNER, ...query });
      return { jobs: page.items.map(toJobView), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: IdParams }>('/v1/jobs/:id', { schema: { params: idParams } }, async (request) =>
    toJobView(await getJob(jobs, request.params.id)),
  );

  app.delete<{ Params: IdParams }>(
    '/v1/jobs/:id',
    { schema: { params: idParams } },
    async (request) => {
      const job = await getJob(jobs, request.params.id);
      return toJobView(await jobs.cancel(job.id, DEFAULT_OWNER));
    },
  );

  app.get<{ Params: IdParams; Querystring: { wait?: string } }>(
    '/v1/jobs/:id/audio',
    { schema: { params: idParams, querystring: waitQuerySchema } },
    async (request, reply) => {
      const waitSeconds = parseWait(request.query.wait, options.maxWaitSeconds);
      const job = await waitForJob(jobs, request.params.id, waitSeconds, waitEnds(reply, options));
      return sendAudio(backend, job, request, reply);
    },
  );
}

interface ListQuery {
  status?: JobStatus;
  limit?: string;
  cursor?: string;
}

const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: JOB_STATUSES },
    limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' },
    cursor: { type: 'string', maxLength: 500 },
  },
} as const;

function parseListQuery(query: ListQuery): { limit: number; status?: JobStatus; cursor?: string } {
  const parsed: { limit: number; status?: JobStatus; cursor?: string } = {
    limit: Number(query.limit ?? '20'),
  };
  if (query.status !== undefined) parsed.status = query.status;
  if (query.cursor !== undefined) parsed.cursor = query.cursor;
  return parsed;
}

const waitQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { wait: { type: 'string', pattern: '^[0-9]{1,5}$' } },
} as const;

function parseWait(wait: string | undefined, maxWaitSeconds: number): number {
  const seconds = Number(wait ?? '0');
  if (seconds > maxWaitSeconds) {
    throw new ValidationError('TTSQ_WAIT_TOO_LONG', `wait is at most ${maxWaitSeconds} seconds`);
  }
  return seconds;
}

async function getJob(jobs: JobService, id: string): Promise<JobRecord> {
  if (!isJobId(id)) throw new NotFoundError(`job ${id} not found`, 'TTSQ_JOB_NOT_FOUND');
  return jobs.get(id, DEFAULT_OWNER);
}

/** A signal that ends a wait early: the client went away or the server is shutting down. */
function waitEnds(reply: FastifyReply, options: JobRouteOptions): AbortSignal {
  const clientGone = new AbortController();
  reply.raw.once('close', () => clientGone.abort());
  return AbortSignal.any([clientGone.signal, options.shutdown]);
}

/** Re-reads the job until it has ended, `waitSeconds` passed, or `stop` is aborted. */
async function waitForJob(jobs: JobService, id: string, waitSeconds: number, stop: AbortSignal) {
  let job = await getJob(jobs, id);
  const deadline = Date.now() + waitSeconds * 1000;
  while (!hasEnded(job.status) && Date.now() < deadline && !stop.aborted) {
    await sleep(WAIT_POLL_MS);
    job = await jobs.get(job.id, DEFAULT_OWNER);
  }
  return job;
}

function hasEnded(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

async function sendAudio(
  backend: Backend,
  job: JobRecord,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (job.status !== 'succeeded' || !job.audio) throw audioNotAvailable(job);
  const sizeBytes = await backend.audio.size(job.audio.key);
  if (sizeBytes === null)
    throw new TtsqError('TTSQ_AUDIO_MISSING', `audio of job ${job.id} is missing`, 410);

  const range = parseRange(request.headers.range, sizeBytes);
  if (range === 'unsatisfiable') {
    return reply
      .status(416)
      .header('content-range', `bytes */${sizeBytes}`)
      .send(errorBody(416, 'TTSQ_RANGE_UNSATISFIABLE', `range outside 0-${sizeBytes - 1}`));
  }
  const stored = await backend.audio.open(job.audio.key, range ?? undefined);
  if (!stored) throw new TtsqError('TTSQ_AUDIO_MISSING', `audio of job ${job.id} is missing`, 410);

  void reply
    .header('content-type', CONTENT_TYPES[job.audio.format] ?? 'application/octet-stream')
    .header('accept-ranges', 'bytes')
    .header('etag', `"${job.id}"`)
    .header('content-disposition', `inline; filename="${job.id}.${job.audio.format}"`);
  if (range) {
    void reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${sizeBytes}`);
  }
  void reply.header('content-length', String(range ? range.end - range.start + 1 : sizeBytes));
  return reply.send(stored.stream);
}

function audioNotAvailable(job: JobRecord): TtsqError {
  if (job.status === 'failed')
    return new ConflictError(
      'TTSQ_JOB_FAILED',
      `job ${job.id} failed: ${job.error?.message ?? 'unknown error'}`,
    );
  if (job.status === 'canceled')
    return new ConflictError('TTSQ_JOB_CANCELED', `job ${job.id} was canceled`);
  return new ConflictError(
    'TTSQ_AUDIO_NOT_READY',
    `job ${job.id} is ${job.status}; retry later or pass ?wait=SECONDS`,
    1,
  );
}
