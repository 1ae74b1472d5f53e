// `ttsq dlq list|retry`: inspects and redrives dead-lettered tasks on the configured backend.

import type { Config } from '../config.js';
import { JobService } from '../jobs/job-service.js';
import { createLogger } from '../logger.js';
import { openBackend } from '../store/open-backend.js';

/** Prints dead-lettered tasks, newest first, one JSON object per line. */
export async function dlqList(config: Config, limit: number): Promise<void> {
  const backend = await openBackend(config, createLogger('warn', 'cli'));
  try {
    const page = await backend.queue.listDead(limit);
    for (const task of page.items) {
      const line = {
        taskId: task.id,
        jobId: task.groupId,
        attemptsMade: task.attemptsMade,
        stalledCount: task.stalledCount,
        error: task.lastError,
        finishedAt: task.finishedAt === null ? null : new Date(task.finishedAt).toISOString(),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    if (page.items.length === 0) process.stderr.write('no dead-lettered tasks\n');
  } finally {
    await backend.close();
  }
}

/** Redrives the job of a dead-lettered task (`JOB.INDEX`) or a failed job (`JOB`). */
export async function dlqRetry(config: Config, id: string): Promise<void> {
  const backend = await openBackend(config, createLogger('warn', 'cli'));
  try {
    const jobId = id.split('.')[0] ?? id;
    const jobs = new JobService(backend, config, createLogger('silent', 'cli'));
    const redriven = await jobs.redrive(jobId);
    process.stderr.write(`job ${jobId}: ${redriven.length} task(s) redriven\n`);
  } finally {
    await backend.close();
  }
}
