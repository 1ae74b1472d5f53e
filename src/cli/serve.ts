// `ttsq serve`: the API and, unless `--workers 0`, a supervised pool of worker processes.

import { configToEnv, type Config } from '../config.js';
import { toError } from '../errors.js';
import { buildApiServer } from '../http/server.js';
import { JobService } from '../jobs/job-service.js';
import { createLogger } from '../logger.js';
import { openBackend } from '../store/open-backend.js';
import { Supervisor } from '../worker/supervisor.js';

/** How long `serve` waits for the first worker before it listens anyway, in ms. */
const FIRST_WORKER_TIMEOUT_MS = 60_000;

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, 'serve');
  const backend = await openBackend(config, logger);
  const jobs = new JobService(backend, config, logger);
  const supervisor = config.workers > 0 ? startWorkers(config, logger) : null;
  if (supervisor && !(await supervisor.waitForReady(1, FIRST_WORKER_TIMEOUT_MS))) {
    logger.warn('no worker ready yet; the API answers 503 until one publishes its voices');
  }

  const app = buildApiServer({
    config,
    backend,
    jobs,
    logger,
    workers: () =>
      supervisor ? { ready: supervisor.readyCount, configured: config.workers } : null,
  });
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    await supervisor?.stop();
    await backend.close();
  };
  onSignals((signal) => shutdown(signal), logger);

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await supervisor?.stop();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { host: config.host, port, workers: config.workers, backend: backend.kind },
    'api listening',
  );
}

function startWorkers(config: Config, logger: ReturnType<typeof createLogger>): Supervisor {
  const supervisor = new Supervisor(
    {
      workers: config.workers,
      nice: config.workerNice,
      shutdownGraceMs: config.shutdownGraceMs,
      env: { ...process.env, ...configToEnv(config) },
    },
    logger,
  );
  supervisor.start();
  return supervisor;
}

function onSignals(
  shutdown: (signal: string) => Promise<void>,
  logger: ReturnType<typeof createLogger>,
): void {
  const handle = (signal: string) => {
    shutdown(signal)
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: toError(error) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}
