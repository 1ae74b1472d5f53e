// The benchmark runner (`npm run bench`): queue throughput and API responsiveness, in one run,
// printed as a Markdown table with the machine and date for docs/benchmarks.md.

import os from 'node:os';
import { measureApiLatency, type ApiLatencyResult, type LatencySample } from './api-latency.js';
import { measureSqliteThroughput } from './queue-throughput.js';
import { measureRedisThroughput } from './redis-throughput.js';
import { TestRedis } from '../test/helpers/redis.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 20_000);
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 2_000);

async function main(): Promise<void> {
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  out(
    `Run ${new Date().toISOString()} on ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  out();
  out('| SQLite queue, no-op tasks | enqueue/s | claim+complete/s |');
  out('|---|---|---|');
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    for (const batch of [1, 32]) {
      const result = await measureSqliteThroughput({ tasks: TASKS, batch, synchronous });
      out(
        `| synchronous=${synchronous}, claim batch ${batch} | ${Math.round(result.enqueuePerSec)} | ${Math.round(result.processPerSec)} |`,
      );
    }
  }
  out();
  const latency = await measureApiLatency({ workers: 2, requests: REQUESTS, concurrency: 4 });
  reportLatency(out, '', latency);
  out();
  await reportRedis(out);
}

/** The same measures on the Redis backend, with raw BullMQ as the reference line. */
async function reportRedis(out: (line?: string) => void): Promise<void> {
  out('| Redis queue, no-op tasks, claim batch 1 | enqueue/s | claim+complete/s |');
  out('|---|---|---|');
  for (const appendOnly of [false, true]) {
    const { ttsq, bullmq } = await measureRedisThroughput({ tasks: TASKS, appendOnly });
    const aof = appendOnly ? 'AOF everysec' : 'no persistence';
    out(
      `| raw BullMQ (addBulk; getNextJob + moveToCompleted), ${aof} | ${bullmq.enqueuePerSec} | ${bullmq.processPerSec} |`,
    );
    out(`| ttsq RedisQueue, ${aof} | ${ttsq.enqueuePerSec} | ${ttsq.processPerSec} |`);
    const enqueueRatio = (ttsq.enqueuePerSec / bullmq.enqueuePerSec).toFixed(2);
    const processRatio = (ttsq.processPerSec / bullmq.processPerSec).toFixed(2);
    out(`| ratio ttsq/BullMQ, ${aof} | ${enqueueRatio} | ${processRatio} |`);
  }
  out();
  const redis = await TestRedis.start({ appendOnly: true, fsync: 'everysec' });
  try {
    const env = { TTSQ_REDIS_URL: redis.url, TTSQ_REDIS_PREFIX: 'bench' };
    const latency = await measureApiLatency({
      workers: 2,
      requests: REQUESTS,
      concurrency: 4,
      env,
    });
    reportLatency(out, 'Redis backend: ', latency);
  } finally {
    await redis.stop();
  }
}

/** Prints one latency table (idle vs saturated workers) and its p99 ratio. */
function reportLatency(out: (line?: string) => void, label: string, latency: ApiLatencyResult) {
  const row = (name: string, sample: LatencySample) =>
    `| ${name} | ${sample.requests} | ${sample.p50Ms} | ${sample.p99Ms} | ${sample.maxMs} |`;
  const saturated = `${latency.workers} workers saturated (${latency.activeDuringSaturation} tasks active)`;
  out(`| ${label}GET /v1/jobs/{id}, 4 in flight | requests | p50 ms | p99 ms | max ms |`);
  out('|---|---|---|---|---|');
  out(row('workers idle', latency.idle));
  out(row(saturated, latency.saturated));
  out();
  const ratio = (latency.saturated.p99Ms / latency.idle.p99Ms).toFixed(2);
  out(`${label}p99 ratio saturated/idle: ${ratio}`);
}

await main();
