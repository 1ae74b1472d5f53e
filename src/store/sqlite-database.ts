// Opens the embedded SQLite database shared by the queue and the job store: WAL,
// synchronous=FULL (an acknowledged write survives power loss), and numbered migrations.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

/** One schema change. `id` orders migrations and is recorded once applied; never renumber. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Options of `openDatabase`. */
export interface OpenDatabaseOptions {
  /** Milliseconds a writer waits for another process's write lock. Default 10_000. */
  busyTimeoutMs?: number;
  /** `FULL` by default; `NORMAL` trades durability on power loss for speed (benchmarks only). */
  synchronous?: 'FULL' | 'NORMAL';
}

/**
 * Opens (creating if needed) the database at `file` and applies the migrations not yet applied,
 * in id order, each in its own transaction. Safe when several processes open it at once.
 */
export function openDatabase(
  file: string,
  migrations: readonly Migration[],
  options: OpenDatabaseOptions = {},
): SqliteDatabase {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

function migrate(db: SqliteDatabase, migrations: readonly Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
  const record = db.prepare(
    'INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)',
  );
  const ordered = [...migrations].sort((a, b) => a.id - b.id);
  for (const migration of ordered) {
    // IMMEDIATE takes the write lock first, so two processes never apply the same migration.
    db.transaction(() => {
      if (applied.get(migration.id)) return;
      db.exec(migration.sql);
      record.run(migration.id, migration.name, Date.now());
    }).immediate();
  }
}
