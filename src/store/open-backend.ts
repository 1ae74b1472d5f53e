// Chooses the backend a process runs on from its configuration.

import type { Config } from '../config.js';
import type { Backend } from './backend.js';
import { openEmbeddedBackend } from './embedded.js';

/** Opens the configured backend: the embedded SQLite one (the only one so far). */
export function openBackend(config: Config): Backend {
  return openEmbeddedBackend(config);
}
