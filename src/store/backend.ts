// The storage a ttsq process runs on: queue, job store, voice catalogue and audio store,
// opened together. The embedded SQLite bundle is the default; a Redis bundle comes later.

import type { AudioStore } from '../audio/store.js';
import type { VoiceCatalog } from '../engines/voice-catalog.js';
import type { JobStore } from '../jobs/job-store.js';
import type { QueueBackend } from '../queue/backend.js';

export interface Backend {
  /** `sqlite` or `redis`: shown on `/readyz` and in logs. */
  readonly kind: string;
  readonly queue: QueueBackend;
  readonly jobs: JobStore;
  readonly voices: VoiceCatalog;
  readonly audio: AudioStore;
  close(): Promise<void>;
}
