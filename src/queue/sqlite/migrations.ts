// Schema of the embedded SQLite queue (migration ids 1–9; the job store owns 10 and up).

import type { Migration } from '../../store/sqlite-database.js';

/**
 * The queue's numbered migrations, applied by `openDatabase`. `seq` is an AUTOINCREMENT rowid
 * alias, so it only grows and gives FIFO order among tasks of equal priority and run time; the
 * caller-chosen `id` is therefore a UNIQUE key rather than the primary key.
 */
export const QUEUE_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'tasks',
    sql: `
      CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        group_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('waiting', 'active', 'completed', 'dead', 'canceled')),
        attempts_made INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        stalled_count INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER,
        last_error_code TEXT,
        last_error_message TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      );
      CREATE INDEX tasks_claim ON tasks (state, priority, run_at, seq);
      CREATE INDEX tasks_lease_expiry ON tasks (state, lease_expires_at);
      CREATE INDEX tasks_by_group ON tasks (group_id);
      CREATE INDEX tasks_by_finish ON tasks (state, finished_at, seq);
    `,
  },
];
