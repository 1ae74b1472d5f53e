// API latency of `GET /v1/jobs/{id}` with idle workers and with every worker saturated by long
// syntheses, against a real `ttsq serve`. The ratio tells whether synthesis leaks into the
// request path.

import { performance } from 'node:perf_hooks';
import { TestServer, longText } from '../test/helpers/service.js';

/** Latency percentiles of one phase, in ms. */
export interface LatencySample {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ApiLatencyResult {
  workers: number;
  idle: LatencySample;
  saturated: LatencySample;
  /** Tasks active while the saturated sample was taken (should equal `workers`). */
  activeDuringSaturation: number;
}

export interface ApiLatencyOptions {
  workers: number;
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Extra environment of the server (e.g. `TTSQ_REDIS_URL` for the Redis backend). */
  env?: Record<string, string>;
}

/** Starts a server on a temp data dir, measures both phases, and stops it. */
export async function measureApiLatency(options: ApiLatencyOptions): Promise<ApiLatencyResult> {
  const server = await TestServer.start({
    TTSQ_WORKERS: String(options.workers),
    TTSQ_LOG_LEVEL: 'info',
    TTSQ_SEGMENT_MAX_CHARS: '100000',
    TTSQ_SHUTDOWN_GRACE_MS: '100',
    ...options.env,
  });
  try {
    await waitFor(
      async () => (await server.json('/readyz')).body.workers.ready === options.workers,
    );
    const probe = await server.submit({ text: 'Latency probe.' });
    const path = `/v1/jobs/${probe.body.id}`;
    await server.waitForJob(probe.body.id);
    const idle = await sampleLatency(server.url(path), options);

    for (let i = 0; i < options.workers * 3; i++) await server.submit({ text: longText(40_000) });
    await waitFor(async () => (await server.json('/readyz')).body.queue.active === options.workers);
    const saturated = await sampleLatency(server.url(path), options);
    const activeDuringSaturation = (await server.json('/readyz')).body.queue.active as number;
    return { workers: options.workers, idle, saturated, activeDuringSaturation };
  } finally {
    await server.stop();
  }
}

async function sampleLatency(url: string, options: ApiLatencyOptions): Promise<LatencySample> {
  const timings: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < options.requests) {
      next++;
      const started = performance.now();
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
      timings.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  timings.sort((a, b) => a - b);
  const at = (q: number) =>
    round(timings[Math.min(timings.length - 1, Math.floor(q * timings.length))] ?? 0);
  return { requests: timings.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('benchmark precondition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
