// Opens the distributed backend (`TTSQ_REDIS_URL` set): queue on BullMQ, jobs, voices and audio
// on the same Redis, every key under `TTSQ_REDIS_PREFIX`.

import { RedisAudioStore } from '../audio/redis-store.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { RedisQueue } from '../queue/redis/redis-queue.js';
import type { Backend } from './backend.js';
import {
  checkEvictionPolicy,
  failFastOnRedisLoss,
  openRedisClients,
  waitForRedis,
} from './redis/redis-connection.js';
import { RedisJobStore } from './redis/redis-job-store.js';
import { RedisVoiceCatalog } from './redis/redis-voice-catalog.js';

type RedisSettings = Pick<
  Config,
  | 'redisUrl'
  | 'redisPrefix'
  | 'audioRetentionSeconds'
  | 'maxAttempts'
  | 'maxStalledCount'
  | 'backoffBaseMs'
  | 'backoffMaxMs'
  | 'leaseDurationMs'
  | 'stalledIntervalMs'
>;

/** How long start-up waits for Redis before giving up, in ms. */
const CONNECT_WAIT_MS = 30_000;

/**
 * Connects to Redis, checks its eviction policy (a warning unless `noeviction`) and opens the
 * Redis backend. Every component answers UnavailableError TTSQ_REDIS_UNAVAILABLE (HTTP 503)
 * while Redis is unreachable and works again once it is back.
 * @throws UnavailableError when Redis does not answer within 30 s at start-up.
 */
export async function openRedisBackend(config: RedisSettings, logger: Logger): Promise<Backend> {
  const log = logger.child({ component: 'redis' });
  const clients = openRedisClients(config.redisUrl, log);
  try {
    await waitForRedis(clients.commands, CONNECT_WAIT_MS);
    await checkEvictionPolicy(clients.commands, log);
  } catch (error) {
    clients.commands.disconnect();
    clients.worker.disconnect();
    throw error;
  }

  const queue = new RedisQueue(clients, {
    prefix: config.redisPrefix,
    maxAttempts: config.maxAttempts,
    maxStalledCount: config.maxStalledCount,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
    leaseDurationMs: config.leaseDurationMs,
    stalledIntervalMs: config.stalledIntervalMs,
    onBackgroundError: (error) => log.debug({ err: error }, 'bullmq background error'),
  });
  await queue.waitUntilReady();
  const guard = <T extends object>(component: T): T =>
    failFastOnRedisLoss(component, clients.commands);
  return {
    kind: 'redis',
    queue: guard(queue),
    jobs: guard(new RedisJobStore(clients.commands, queue, config.redisPrefix)),
    voices: guard(new RedisVoiceCatalog(clients.commands, config.redisPrefix)),
    audio: guard(
      new RedisAudioStore(clients.commands, {
        prefix: config.redisPrefix,
        retentionSeconds: config.audioRetentionSeconds,
      }),
    ),
    async close() {
      await queue.close();
      await Promise.all([clients.commands.quit(), clients.worker.quit()]).catch(() => undefined);
    },
  };
}
