// `GET /v1/voices`: the voices the workers published, with their capabilities.

import type { FastifyInstance } from 'fastify';
import type { JobService } from '../../jobs/job-service.js';

export function voiceRoutes(app: FastifyInstance, jobs: JobService): void {
  app.get('/v1/voices', async () => ({ voices: await jobs.voices() }));
}
