// Liveness and readiness probes.

import type { FastifyInstance } from 'fastify';
import { toError } from '../../errors.js';
import type { QueueCounts } from '../../queue/backend.js';
import type { Backend } from '../../store/backend.js';

/** Tells readiness how many worker processes are usable; null when workers run elsewhere. */
export type WorkerReadiness = () => { ready: number; configured: number } | null;

export function healthRoutes(
  app: FastifyInstance,
  backend: Backend,
  workers: WorkerReadiness,
): void {
  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const pool = workers();
    let queue: QueueCounts | null = null;
    let queueError: string | null = null;
    try {
      await backend.queue.ping();
      queue = await backend.queue.counts();
    } catch (error) {
      queueError = toError(error).message;
    }
    const ready = queue !== null && (pool === null || pool.ready > 0);
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      backend: backend.kind,
      workers: pool ?? 'external',
      queue: queue ?? { error: queueError },
    });
  });
}
