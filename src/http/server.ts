// Builds the HTTP API: Fastify with body limits, schema validation without type coercion (a
// number is not a string), one error shape, and the routes.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { JobService } from '../jobs/job-service.js';
import type { Logger } from '../logger.js';
import type { Backend } from '../store/backend.js';
import { installErrorHandlers } from './error-handler.js';
import { healthRoutes, type WorkerReadiness } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { voiceRoutes } from './routes/voices.js';

export interface ApiDependencies {
  config: Pick<Config, 'maxBodyBytes' | 'maxWaitSeconds'>;
  backend: Backend;
  jobs: JobService;
  logger: Logger;
  workers: WorkerReadiness;
}

/** Creates the API server (not yet listening). */
export function buildApiServer(deps: ApiDependencies): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = deps.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance,
    // One log line per request at info would sit on the hot path; state changes are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.maxBodyBytes,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  // JSON is the only request body the API takes; anything else is answered 415.
  app.removeContentTypeParser('text/plain');
  installErrorHandlers(app);
  healthRoutes(app, deps.backend, deps.workers);
  voiceRoutes(app, deps.jobs);
  const shutdown = new AbortController();
  app.addHook('preClose', (done) => {
    shutdown.abort();
    done();
  });
  jobRoutes(app, deps.jobs, deps.backend, {
    maxWaitSeconds: deps.config.maxWaitSeconds,
    shutdown: shutdown.signal,
  });
  return app;
}
