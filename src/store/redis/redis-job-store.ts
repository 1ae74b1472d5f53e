// The job store on Redis: one hash per job, a hash of its segment results, and per owner a
// sorted set of its jobs (and one per status) for newest-first listing. Every change of state
// is one Lua script, so concurrent workers and API nodes never see half an update.

import type { ChainableCommander, Redis } from 'ioredis';
import type { JobOutcome, JobQuery, JobStore } from '../../jobs/job-store.js';
import type { JobRecord, JobStatus, SegmentResult } from '../../jobs/types.js';
import type { Page, TaskInput } from '../../queue/backend.js';
import type { RedisQueue } from '../../queue/redis/redis-queue.js';
import { readNewestFirst } from './sorted-page.js';

/** Moves a job id between its owner's per-status sets: KEYS job; ARGV statusPrefix, id, from, to. */
const MOVE_STATUS = `
local function moveStatus(jobKey, statusPrefix, id, from, to)
  local created = redis.call('HGET', jobKey, 'createdAt')
  redis.call('ZREM', statusPrefix .. from, id)
  redis.call('ZADD', statusPrefix .. to, created, id)
  redis.call('HSET', jobKey, 'status', to)
end
`;

const SCRIPTS = {
  ttsqJobAttempt: {
    keys: 1,
    lua: `${MOVE_STATUS}
      local status = redis.call('HGET', KEYS[1], 'status')
      if status ~= 'queued' and status ~= 'running' then return 0 end
      redis.call('HINCRBY', KEYS[1], 'attempts', 1)
      if redis.call('HGET', KEYS[1], 'startedAt') == '' then
        redis.call('HSET', KEYS[1], 'startedAt', ARGV[3])
      end
      if status == 'queued' then
        moveStatus(KEYS[1], ARGV[1], ARGV[2], 'queued', 'running')
      end
      return 1`,
  },
  ttsqJobSegment: {
    keys: 2,
    lua: `
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
        redis.call('HINCRBY', KEYS[1], 'segmentsDone', 1)
      end
      local status = redis.call('HGET', KEYS[1], 'status')
      local done = tonumber(redis.call('HGET', KEYS[1], 'segmentsDone'))
      local count = tonumber(redis.call('HGET', KEYS[1], 'segmentCount'))
      if (status == 'queued' or status == 'running') and done >= count then return 1 end
      return 0`,
  },
  ttsqJobFinish: {
    keys: 1,
    lua: `${MOVE_STATUS}
      local status = redis.call('HGET', KEYS[1], 'status')
      if status ~= 'queued' and status ~= 'running' then return 0 end
      redis.call('HSET', KEYS[1], 'error', ARGV[4], 'audio', ARGV[5], 'finishedAt', ARGV[6])
      moveStatus(KEYS[1], ARGV[1], ARGV[2], status, ARGV[3])
      return 1`,
  },
  ttsqJobReopen: {
    keys: 1,
    lua: `${MOVE_STATUS}
      if redis.call('HGET', KEYS[1], 'status') ~= 'failed' then return 0 end
      local to = 'queued'
      if redis.call('HGET', KEYS[1], 'startedAt') ~= '' then to = 'running' end
      redis.call('HSET', KEYS[1], 'error', '', 'finishedAt', '')
      moveStatus(KEYS[1], ARGV[1], ARGV[2], 'failed', to)
      return 1`,
  },
} as const;

/** The commands `defineCommand` adds to the client for the scripts above. */
interface JobScripts {
  ttsqJobAttempt(key: string, statusPrefix: string, id: string, at: number): Promise<number>;
  ttsqJobSegment(key: string, segmentsKey: string, index: number, json: string): Promise<number>;
  ttsqJobFinish(key: string, ...args: (string | number)[]): Promise<number>;
  ttsqJobReopen(key: string, statusPrefix: string, id: string): Promise<number>;
}

/** The fields of a job's hash. Empty strings stand for null. */
type JobHash = Record<string, string>;

/**
 * `JobStore` on Redis. `create` writes the job and its tasks in one MULTI/EXEC with BullMQ's own
 * enqueue scripts, so a job is never stored without its tasks, nor tasks without their job.
 */
export class RedisJobStore implements JobStore {
  readonly #redis: Redis & JobScripts;
  readonly #queue: RedisQueue;
  readonly #prefix: string;

  constructor(redis: Redis, queue: RedisQueue, prefix: string) {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
    }
    this.#redis = redis as Redis & JobScripts;
    this.#queue = queue;
    this.#prefix = prefix;
  }

  async create(job: JobRecord, tasks: readonly TaskInput[]): Promise<void> {
    const multi = await this.#queue.transaction();
    this.#writeJob(multi, job);
    const inserted = await this.#queue.enqueueInTransaction(multi, tasks);
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (results === null || failed !== undefined) {
      throw failed?.[0] ?? new Error(`job ${job.id} was not stored`);
    }
    this.#queue.announceEnqueued(inserted);
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const hash = await this.#redis.hgetall(this.#jobKey(jobId));
    return fromHash(hash);
  }

  async list(query: JobQuery): Promise<Page<JobRecord>> {
    const key = query.status
      ? this.#statusKey(query.ownerId, query.status)
      : this.#ownerKey(query.ownerId);
    const page = await readNewestFirst(this.#redis, key, query.limit, query.cursor);
    const pipeline = this.#redis.pipeline();
    for (const jobId of page.items) pipeline.hgetall(this.#jobKey(jobId));
    const hashes = (await pipeline.exec()) ?? [];
    const items = hashes.flatMap(([, hash]) => fromHash(hash as JobHash) ?? []);
    return { items, nextCursor: page.nextCursor };
  }

  async noteAttemptStarted(jobId: string, atMs: number): Promise<boolean> {
    const owner = await this.#ownerOf(jobId);
    if (owner === null) return false;
    const key = this.#jobKey(jobId);
    return (await this.#redis.ttsqJobAttempt(key, this.#statusPrefix(owner), jobId, atMs)) === 1;
  }

  async recordSegment(jobId: string, result: SegmentResult): Promise<{ allDone: boolean }> {
    const done = await this.#redis.ttsqJobSegment(
      this.#jobKey(jobId),
      this.#segmentsKey(jobId),
      result.index,
      JSON.stringify(result),
    );
    return { allDone: done === 1 };
  }

  async segments(jobId: string): Promise<SegmentResult[]> {
    const stored = await this.#redis.hvals(this.#segmentsKey(jobId));
    const results = stored.map((json) => JSON.parse(json) as SegmentResult);
    return results.sort((a, b) => a.index - b.index);
  }

  async finish(jobId: string, outcome: JobOutcome, atMs: number): Promise<boolean> {
    const owner = await this.#ownerOf(jobId);
    if (owner === null) return false;
    const error = outcome.status === 'failed' ? JSON.stringify(outcome.error) : '';
    const audio = outcome.status === 'succeeded' ? JSON.stringify(outcome.audio) : '';
    const ended = await this.#redis.ttsqJobFinish(
      this.#jobKey(jobId),
      this.#statusPrefix(owner),
      jobId,
      outcome.status,
      error,
      audio,
      atMs,
    );
    return ended === 1;
  }

  async reopen(jobId: string): Promise<boolean> {
    const owner = await this.#ownerOf(jobId);
    if (owner === null) return false;
    const reopened = await this.#redis.ttsqJobReopen(
      this.#jobKey(jobId),
      this.#statusPrefix(owner),
      jobId,
    );
    return reopened === 1;
  }

  #writeJob(multi: ChainableCommander, job: JobRecord): void {
    multi.hset(this.#jobKey(job.id), toHash(job));
    multi.zadd(this.#ownerKey(job.ownerId), job.createdAt, job.id);
    multi.zadd(this.#statusKey(job.ownerId, job.status), job.createdAt, job.id);
  }

  async #ownerOf(jobId: string): Promise<string | null> {
    return this.#redis.hget(this.#jobKey(jobId), 'ownerId');
  }

  #jobKey(jobId: string): string {
    return `${this.#prefix}:job:${jobId}`;
  }

  #segmentsKey(jobId: string): string {
    return `${this.#prefix}:job:${jobId}:segments`;
  }

  #ownerKey(ownerId: string): string {
    return `${this.#prefix}:owner:${ownerId}:jobs`;
  }

  #statusPrefix(ownerId: string): string {
    return `${this.#prefix}:owner:${ownerId}:status:`;
  }

  #statusKey(ownerId: string, status: JobStatus): string {
    return `${this.#statusPrefix(ownerId)}${status}`;
  }
}

function toHash(job: JobRecord): JobHash {
  return {
    id: job.id,
    ownerId: job.ownerId,
    status: job.status,
    request: JSON.stringify(job.request),
    segmentCount: String(job.segmentCount),
    segmentsDone: String(job.segmentsDone),
    attempts: String(job.attempts),
    error: job.error ? JSON.stringify(job.error) : '',
    createdAt: String(job.createdAt),
    startedAt: job.startedAt === null ? '' : String(job.startedAt),
    finishedAt: job.finishedAt === null ? '' : String(job.finishedAt),
    audio: job.audio ? JSON.stringify(job.audio) : '',
  };
}

function fromHash(hash: JobHash): JobRecord | null {
  if (hash['id'] === undefined) return null;
  return {
    id: hash['id'],
    ownerId: hash['ownerId'] ?? '',
    status: hash['status'] as JobStatus,
    request: JSON.parse(hash['request'] ?? '{}') as JobRecord['request'],
    segmentCount: Number(hash['segmentCount']),
    segmentsDone: Number(hash['segmentsDone']),
    attempts: Number(hash['attempts']),
    error: parseOrNull(hash['error']) as JobRecord['error'],
    createdAt: Number(hash['createdAt']),
    startedAt: numberOrNull(hash['startedAt']),
    finishedAt: numberOrNull(hash['finishedAt']),
    audio: parseOrNull(hash['audio']) as JobRecord['audio'],
  };
}

function parseOrNull(value: string | undefined): unknown {
  return value === undefined || value === '' ? null : JSON.parse(value);
}

function numberOrNull(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}
