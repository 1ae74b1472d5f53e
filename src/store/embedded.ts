// Opens the embedded (one machine) backend: SQLite file `<dataDir>/ttsq.db` and audio files
// under `<dataDir>/audio`.

import path from 'node:path';
import { FsAudioStore } from '../audio/fs-store.js';
import type { Config } from '../config.js';
import { QUEUE_MIGRATIONS } from '../queue/sqlite/migrations.js';
import { SqliteQueue } from '../queue/sqlite/sqlite-queue.js';
import type { Backend } from './backend.js';
import { JOB_MIGRATIONS } from './job-migrations.js';
import { openDatabase, type OpenDatabaseOptions } from './sqlite-database.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqliteVoiceCatalog } from './sqlite-voice-catalog.js';

type QueueSettings = Pick<
  Config,
  'dataDir' | 'maxAttempts' | 'maxStalledCount' | 'backoffBaseMs' | 'backoffMaxMs'
>;

/** Opens (and migrates) the embedded backend under `config.dataDir`. */
export function openEmbeddedBackend(
  config: QueueSettings,
  options: OpenDatabaseOptions = {},
): Backend {
  const db = openDatabase(
    path.join(config.dataDir, 'ttsq.db'),
    [...QUEUE_MIGRATIONS, ...JOB_MIGRATIONS],
    options,
  );
  const queue = new SqliteQueue(db, {
    maxAttempts: config.maxAttempts,
    maxStalledCount: config.maxStalledCount,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
  });
  return {
    kind: 'sqlite',
    queue,
    jobs: new SqliteJobStore(db, queue),
    voices: new SqliteVoiceCatalog(db),
    audio: new FsAudioStore(path.join(config.dataDir, 'audio')),
    async close() {
      await queue.close();
      db.close();
    },
  };
}
