// Schema of the embedded job store and voice catalogue (migration ids 10 and up; the queue
// owns 1–9).

import type { Migration } from './sqlite-database.js';

export const JOB_MIGRATIONS: readonly Migration[] = [
  {
    id: 10,
    name: 'jobs',
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        segment_count INTEGER NOT NULL,
        segments_done INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        audio TEXT
      );
      CREATE INDEX jobs_by_owner ON jobs (owner_id, created_at DESC, id DESC);
      CREATE INDEX jobs_by_owner_status ON jobs (owner_id, status, created_at DESC, id DESC);
      CREATE TABLE job_segments (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        audio_key TEXT NOT NULL,
        sample_rate_hz INTEGER NOT NULL,
        sample_count INTEGER NOT NULL,
        cache_key TEXT NOT NULL,
        PRIMARY KEY (job_id, idx)
      );
    `,
  },
  {
    id: 11,
    name: 'voices',
    sql: `
      CREATE TABLE voices (
        id TEXT PRIMARY KEY,
        engine TEXT NOT NULL,
        info TEXT NOT NULL,
        published_at INTEGER NOT NULL
      );
    `,
  },
];
