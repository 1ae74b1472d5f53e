// Starts real ttsq processes (`ttsq serve`, `ttsq worker`) on a temporary data directory and
// reads their JSON log lines, so tests exercise the service the way users run it.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface LogLine {
  msg?: string;
  level?: number;
  [field: string]: unknown;
}

/** A running ttsq process and everything it logged. */
export class ServiceProcess {
  readonly logs: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TTSQ_LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    readline
      .createInterface({ input: this.child.stdout! })
      .on('line', (line) => this.#record(line));
    readline
      .createInterface({ input: this.child.stderr! })
      .on('line', (line) => this.logs.push({ msg: line, stderr: true }));
  }

  #record(line: string): void {
    try {
      this.logs.push(JSON.parse(line) as LogLine);
    } catch {
      this.logs.push({ msg: line });
    }
  }

  /** Resolves with the first log line matching, or rejects after `timeoutMs`. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`log line not seen; last lines:\n${this.tail()}`);
      if (this.child.exitCode !== null)
        throw new Error(`process exited ${this.child.exitCode}:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  tail(lines = 20): string {
    return this.logs
      .slice(-lines)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** A `ttsq serve` process listening on a free loopback port. */
export class TestServer {
  readonly process: ServiceProcess;
  readonly dataDir: string;
  readonly baseUrl: string;

  private constructor(process: ServiceProcess, dataDir: string, port: number) {
    this.process = process;
    this.dataDir = dataDir;
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  /** Starts `ttsq serve` with `env` on a new temp data dir (or `dataDir`). */
  static async start(
    env: Record<string, string> = {},
    dataDir = makeDataDir(),
  ): Promise<TestServer> {
    const service = new ServiceProcess(['serve'], {
      TTSQ_PORT: '0',
      TTSQ_DATA_DIR: dataDir,
      TTSQ_WORKERS: '1',
      ...env,
    });
    const line = await service.waitForLog((l) => l.msg === 'api listening');
    return new TestServer(service, dataDir, Number(line['port']));
  }

  url(pathname: string): string {
    return `${this.baseUrl}${pathname}`;
  }

  async json(
    pathname: string,
    init: RequestInit = {},
  ): Promise<{ status: number; headers: Headers; body: any }> {
    const response = await fetch(this.url(pathname), init);
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? null : JSON.parse(text),
    };
  }

  /** POSTs a JSON body to `/v1/jobs`. */
  submit(body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
    return this.json('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** Polls the job until it has ended; returns its last view. */
  async waitForJob(id: string, timeoutMs = 120_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.json(`/v1/jobs/${id}`);
      if (['succeeded', 'failed', 'canceled'].includes(body.status)) return body;
      if (Date.now() > deadline)
        throw new Error(`job ${id} still ${body.status}:\n${this.process.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

export function makeDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ttsq-test-'));
}

/** A text of about `chars` characters made of varied English sentences. */
export function longText(chars: number): string {
  const sentences = [
    'The quick brown fox jumps over the lazy dog near the river bank.',
    'Queues keep slow work out of the request path, so every client gets an answer at once.',
    'A worker claims a task, holds a lease on it, and renews the lease while it speaks.',
    'When a process dies, its lease expires and another worker takes the task again.',
  ];
  let text = '';
  for (let i = 0; text.length < chars; i++) text += `${sentences[i % sentences.length]} `;
  return text.trim();
}
