// Redis connections of distributed mode, opened from `TTSQ_REDIS_URL`: one that fails fast for
// commands (the API answers 503 instead of hanging while Redis is away) and one that waits and
// reconnects for BullMQ's worker side. Also the start-up check of the eviction policy.

import { Redis, type RedisOptions } from 'ioredis';
import { TtsqError, UnavailableError, toError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** Code of every error raised because Redis cannot be reached. */
export const REDIS_UNAVAILABLE_CODE = 'TTSQ_REDIS_UNAVAILABLE';

/** Seconds a client is told to wait before retrying while Redis is unreachable. */
const RETRY_AFTER_SECONDS = 2;
/** A command that gets no answer within this time fails (a partition, not a refused socket). */
const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** The two connections a Redis-backed process holds. */
export interface RedisClients {
  /** Fails fast while disconnected: no offline queue, no resend. */
  commands: Redis;
  /** For BullMQ's Worker: queues commands while disconnected and resends them on reconnect. */
  worker: Redis;
}

/** Reconnects forever, quickly at first, at most every MAX_RECONNECT_DELAY_MS. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt, 10));
}

const BASE_OPTIONS = {
  connectTimeout: CONNECT_TIMEOUT_MS,
  retryStrategy: reconnectDelayMs,
} satisfies RedisOptions;

/**
 * Opens both connections to `url` (redis:// or rediss://, with an ACL user and password in the
 * URL when set). Errors are logged once per state change rather than thrown.
 */
export function openRedisClients(url: string, logger: Logger): RedisClients {
  const commands = new Redis(url, {
    ...BASE_OPTIONS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectionName: 'ttsq-commands',
  });
  const worker = new Redis(url, {
    ...BASE_OPTIONS,
    maxRetriesPerRequest: null,
    connectionName: 'ttsq-worker',
  });
  watchConnection(commands, logger);
  watchConnection(worker, logger);
  return { commands, worker };
}

/** Logs connection loss and recovery once each, never every reconnection attempt. */
function watchConnection(client: Redis, logger: Logger): void {
  let lost = false;
  client.on('error', (error: unknown) => {
    if (lost) return;
    lost = true;
    logger.warn(
      { err: toError(error), connection: client.options.connectionName },
      'redis unreachable',
    );
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ connection: client.options.connectionName }, 'redis reconnected');
  });
}

/**
 * Resolves once the client is connected; rejects with UnavailableError after `timeoutMs`.
 * A fresh client connects on its own, this only waits for it.
 */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.status !== 'ready') {
    if (Date.now() > deadline) {
      throw new UnavailableError(
        REDIS_UNAVAILABLE_CODE,
        `Redis did not answer within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Warns unless Redis runs with `maxmemory-policy noeviction`: under any other policy Redis may
 * evict queue keys under memory pressure and silently lose jobs. Uses INFO, which works where
 * CONFIG is forbidden (managed Redis, restricted ACL users).
 */
export async function checkEvictionPolicy(client: Redis, logger: Logger): Promise<string | null> {
  const info = await client.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
  if (policy !== null && policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy },
      'redis maxmemory-policy is not noeviction: under memory pressure Redis may delete queued jobs; set maxmemory-policy noeviction',
    );
  }
  return policy;
}

/** Whether an error means Redis could not be reached (rather than a bad command). */
export function isConnectionError(error: Error, client: Redis): boolean {
  if (client.status !== 'ready') return true;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(code)) return true;
  return /Connection is closed|Stream isn't writeable|Command timed out|MaxRetriesPerRequest|enableOfflineQueue/i.test(
    `${error.name} ${error.message}`,
  );
}

/**
 * Wraps a Redis-backed component so every promise-returning method turns a connection failure
 * into UnavailableError TTSQ_REDIS_UNAVAILABLE (HTTP 503 with Retry-After). Other errors pass
 * through unchanged, and so do synchronous methods.
 */
export function failFastOnRedisLoss<T extends object>(target: T, client: Redis): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((caught: unknown) => {
          throw mapRedisError(toError(caught), client);
        });
      };
    },
  });
}

function mapRedisError(error: Error, client: Redis): Error {
  const ours =
    error instanceof TtsqError || error instanceof TypeError || error instanceof RangeError;
  if (ours || !isConnectionError(error, client)) return error;
  return new UnavailableError(
    REDIS_UNAVAILABLE_CODE,
    `Redis is unreachable (${error.message}); retry shortly`,
    RETRY_AFTER_SECONDS,
  );
}
