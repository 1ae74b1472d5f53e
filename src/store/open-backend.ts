// Chooses the backend a process runs on from its configuration: the one place that looks at
// `TTSQ_REDIS_URL`.

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Backend } from './backend.js';
import { openRedisBackend } from './distributed.js';
import { openEmbeddedBackend } from './embedded.js';

/**
 * Opens the configured backend: Redis (BullMQ) when `redisUrl` is set, otherwise the embedded
 * SQLite one under `dataDir`.
 * @throws UnavailableError when Redis is configured but does not answer at start-up.
 */
export async function openBackend(config: Config, logger: Logger): Promise<Backend> {
  if (config.redisUrl !== '') return openRedisBackend(config, logger);
  return openEmbeddedBackend(config);
}
