// The job store on the embedded SQLite database. A job and its segment tasks are written in
// one transaction with the queue's own statements, so a 202 never points at a job without tasks.

import type { Page, TaskInput } from '../queue/backend.js';
import type { SqliteQueue } from '../queue/sqlite/sqlite-queue.js';
import type { JobOutcome, JobQuery, JobStore } from '../jobs/job-store.js';
import type { JobRecord, JobStatus, SegmentResult } from '../jobs/types.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { settle } from './settle.js';

interface JobRow {
  id: string;
  owner_id: string;
  status: JobStatus;
  request: string;
  segment_count: number;
  segments_done: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  audio: string | null;
}

interface SegmentRow {
  idx: number;
  audio_key: string;
  sample_rate_hz: number;
  sample_count: number;
  cache_key: string;
}

export class SqliteJobStore implements JobStore {
  readonly #db: SqliteDatabase;
  readonly #queue: SqliteQueue;
  readonly #statements;

  constructor(db: SqliteDatabase, queue: SqliteQueue) {
    this.#db = db;
    this.#queue = queue;
    this.#statements = prepare(db);
  }

  create(job: JobRecord, tasks: readonly TaskInput[]): Promise<void> {
    return settle(() =>
      this.#db
        .transaction(() => {
          this.#statements.insert.run(toRow(job));
          this.#queue.enqueueSync(tasks);
        })
        .immediate(),
    );
  }

  get(jobId: string): Promise<JobRecord | null> {
    return settle(() => {
      const row = this.#statements.get.get(jobId) as JobRow | undefined;
      return row ? fromRow(row) : null;
    });
  }

  list(query: JobQuery): Promise<Page<JobRecord>> {
    return settle(() => this.#list(query));
  }

  noteAttemptStarted(jobId: string, atMs: number): Promise<boolean> {
    return settle(() => this.#statements.attemptStarted.run({ at: atMs, id: jobId }).changes > 0);
  }

  recordSegment(jobId: string, result: SegmentResult): Promise<{ allDone: boolean }> {
    return settle(() => ({ allDone: this.#recordSegment(jobId, result) }));
  }

  segments(jobId: string): Promise<SegmentResult[]> {
    return settle(() => (this.#statements.segments.all(jobId) as SegmentRow[]).map(segmentFromRow));
  }

  finish(jobId: string, outcome: JobOutcome, atMs: number): Promise<boolean> {
    const error = outcome.status === 'failed' ? outcome.error : null;
    const audio = outcome.status === 'succeeded' ? JSON.stringify(outcome.audio) : null;
    const params = {
      id: jobId,
      status: outcome.status,
      errorCode: error?.code ?? null,
      errorMessage: error?.message ?? null,
      audio,
      at: atMs,
    };
    return settle(() => this.#statements.finish.run(params).changes > 0);
  }

  reopen(jobId: string): Promise<boolean> {
    return settle(() => this.#statements.reopen.run(jobId).changes > 0);
  }

  #list(query: JobQuery): Page<JobRecord> {
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    const rows = this.#statements.list.all({
      owner: query.ownerId,
      status: query.status ?? null,
      afterCreated: after?.at ?? null,
      afterId: after?.id ?? null,
      limit: query.limit + 1,
    }) as JobRow[];
    const items = rows.slice(0, query.limit).map(fromRow);
    const last = items.at(-1);
    const nextCursor =
      rows.length > query.limit && last ? encodeCursor({ at: last.createdAt, id: last.id }) : null;
    return { items, nextCursor };
  }

  #recordSegment(jobId: string, result: SegmentResult): boolean {
    return this.#db
      .transaction(() => {
        const inserted = this.#statements.insertSegment.run({ jobId, ...segmentParams(result) });
        if (inserted.changes > 0) this.#statements.countSegment.run(jobId);
        const row = this.#statements.progress.get(jobId) as JobRow | undefined;
        return row !== undefined && isOpen(row.status) && row.segments_done >= row.segment_count;
      })
      .immediate();
  }
}

function prepare(db: SqliteDatabase) {
  return {
    insert: db.prepare(`
      INSERT INTO jobs (id, owner_id, status, request, segment_count, segments_done, attempts,
        error_code, error_message, created_at, started_at, finished_at, audio)
      VALUES (@id, @owner_id, @status, @request, @segment_count, @segments_done, @attempts,
        @error_code, @error_message, @created_at, @started_at, @finished_at, @audio)`),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    list: db.prepare(`
      SELECT * FROM jobs
      WHERE owner_id = @owner AND (@status IS NULL OR status = @status)
        AND (@afterCreated IS NULL OR created_at < @afterCreated
          OR (created_at = @afterCreated AND id < @afterId))
      ORDER BY created_at DESC, id DESC LIMIT @limit`),
    attemptStarted: db.prepare(`
      UPDATE jobs SET attempts = attempts + 1, started_at = COALESCE(started_at, @at),
        status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
      WHERE id = @id AND status IN ('queued', 'running')`),
    insertSegment: db.prepare(`
      INSERT INTO job_segments (job_id, idx, audio_key, sample_rate_hz, sample_count, cache_key)
      VALUES (@jobId, @idx, @audioKey, @sampleRateHz, @sampleCount, @cacheKey)
      ON CONFLICT (job_id, idx) DO NOTHING`),
    countSegment: db.prepare('UPDATE jobs SET segments_done = segments_done + 1 WHERE id = ?'),
    progress: db.prepare('SELECT status, segments_done, segment_count FROM jobs WHERE id = ?'),
    segments: db.prepare('SELECT * FROM job_segments WHERE job_id = ? ORDER BY idx'),
    finish: db.prepare(`
      UPDATE jobs SET status = @status, error_code = @errorCode, error_message = @errorMessage,
        audio = @audio, finished_at = @at
      WHERE id = @id AND status IN ('queued', 'running')`),
    reopen: db.prepare(`
      UPDATE jobs SET status = CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END,
        error_code = NULL, error_message = NULL, finished_at = NULL
      WHERE id = ? AND status = 'failed'`),
  };
}

function isOpen(status: JobStatus): boolean {
  return status === 'queued' || status === 'running';
}

function segmentParams(result: SegmentResult) {
  return {
    idx: result.index,
    audioKey: result.audioKey,
    sampleRateHz: result.sampleRateHz,
    sampleCount: result.sampleCount,
    cacheKey: result.cacheKey,
  };
}

function segmentFromRow(row: SegmentRow): SegmentResult {
  return {
    index: row.idx,
    audioKey: row.audio_key,
    sampleRateHz: row.sample_rate_hz,
    sampleCount: row.sample_count,
    cacheKey: row.cache_key,
  };
}

function toRow(job: JobRecord): JobRow {
  return {
    id: job.id,
    owner_id: job.ownerId,
    status: job.status,
    request: JSON.stringify(job.request),
    segment_count: job.segmentCount,
    segments_done: job.segmentsDone,
    attempts: job.attempts,
    error_code: job.error?.code ?? null,
    error_message: job.error?.message ?? null,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    audio: job.audio ? JSON.stringify(job.audio) : null,
  };
}

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    status: row.status,
    request: JSON.parse(row.request) as JobRecord['request'],
    segmentCount: row.segment_count,
    segmentsDone: row.segments_done,
    attempts: row.attempts,
    error:
      row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    audio: row.audio === null ? null : (JSON.parse(row.audio) as JobRecord['audio']),
  };
}
