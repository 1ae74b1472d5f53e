// Starts a private `redis-server` for a test on a free loopback port, in a temp directory, and
// can kill and restart it on the same data (AOF) to test recovery.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

const REDIS_SERVER = process.env['REDIS_SERVER'] ?? 'redis-server';
const START_TIMEOUT_MS = 10_000;

/** Options of a test Redis. */
export interface TestRedisOptions {
  /** Append-only file, so a restart keeps what was written. */
  appendOnly?: boolean;
  /** AOF fsync policy. Default `always`: a SIGKILL loses nothing acknowledged. */
  fsync?: 'always' | 'everysec';
}

/** A redis-server owned by one test file. */
export class TestRedis {
  readonly port: number;
  readonly dir: string;
  readonly #options: TestRedisOptions;
  #child: ChildProcess | null = null;

  private constructor(port: number, dir: string, options: TestRedisOptions) {
    this.port = port;
    this.dir = dir;
    this.#options = options;
  }

  /** Starts a server on a free port and waits until it answers PING. */
  static async start(options: TestRedisOptions = {}): Promise<TestRedis> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-redis-'));
    const redis = new TestRedis(await freePort(), dir, options);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and directory. */
  async restart(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      this.dir,
    ];
    args.push('--maxmemory-policy', 'noeviction');
    const fsync = this.#options.fsync ?? 'always';
    if (this.#options.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', fsync);
    else args.push('--appendonly', 'no');
    this.#child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    await waitForPing(this.port);
  }

  /** SIGKILLs the server, as a crash would, and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port the OS considers free right now (a listener on port 0, closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
}
