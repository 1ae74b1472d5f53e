// The entry of a worker process (`ttsq worker`, or a child of `ttsq serve`): opens the backend,
// runs a Worker, tells a parent supervisor when it is ready, and drains on SIGTERM or SIGINT.

import os from 'node:os';
import type { Config } from '../config.js';
import { toError } from '../errors.js';
import { JobService } from '../jobs/job-service.js';
import { createLogger } from '../logger.js';
import { openBackend } from '../store/open-backend.js';
import { Worker } from './worker.js';

/** The message a worker process sends its supervisor over IPC once it claims tasks. */
export interface WorkerReadyMessage {
  type: 'ready';
  workerId: string;
}

/** Runs a worker in this process until a termination signal has drained it. */
export async function runWorkerProcess(config: Config, concurrency: number): Promise<void> {
  const workerId = `${os.hostname()}:${process.pid}`;
  const logger = createLogger(config.logLevel, 'worker');
  exitOnFatalError(logger);

  const backend = await openBackend(config, logger);
  const worker = new Worker(
    backend,
    new JobService(backend, config, logger),
    { ...config, workerId, concurrency },
    logger,
  );
  await worker.start();
  const ready: WorkerReadyMessage = { type: 'ready', workerId };
  process.send?.(ready);

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'worker draining');
    worker
      .stop()
      .then(() => backend.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: toError(error) }, 'worker shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // A supervisor that dies leaves its workers orphaned: they drain and exit with it.
  process.once('disconnect', () => shutdown('disconnect'));
}

function exitOnFatalError(logger: ReturnType<typeof createLogger>): void {
  const fatal = (error: unknown) => {
    logger.fatal({ err: toError(error) }, 'worker crashed');
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
