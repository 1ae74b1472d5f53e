// The voice catalogue on the embedded SQLite database.

import type { VoiceInfo } from '../engines/engine.js';
import type { VoiceCatalog } from '../engines/voice-catalog.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { settle } from './settle.js';

export class SqliteVoiceCatalog implements VoiceCatalog {
  readonly #db: SqliteDatabase;
  readonly #remove;
  readonly #insert;
  readonly #list;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#remove = db.prepare('DELETE FROM voices WHERE engine = ?');
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO voices (id, engine, info, published_at) VALUES (?, ?, ?, ?)',
    );
    this.#list = db.prepare('SELECT info FROM voices ORDER BY id');
  }

  publish(engine: string, voices: readonly VoiceInfo[]): Promise<void> {
    const now = Date.now();
    return settle(() =>
      this.#db
        .transaction(() => {
          this.#remove.run(engine);
          for (const voice of voices)
            this.#insert.run(voice.id, engine, JSON.stringify(voice), now);
        })
        .immediate(),
    );
  }

  list(): Promise<VoiceInfo[]> {
    return settle(() =>
      (this.#list.all() as { info: string }[]).map((row) => JSON.parse(row.info) as VoiceInfo),
    );
  }
}
