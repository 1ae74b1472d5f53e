// Keeps a pool of worker processes alive for `ttsq serve`: spawns them at a lower CPU priority
// than the API, restarts one that dies (backing off when it keeps dying), and drains them all
// on stop.

import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Settings of the pool. Durations in ms. */
export interface SupervisorOptions {
  workers: number;
  /** Niceness added to each worker process over this one's (the result is capped at 19). */
  nice: number;
  /** How long a worker may drain on stop before it is killed. */
  shutdownGraceMs: number;
  /** Environment of the workers: carries their configuration. */
  env: NodeJS.ProcessEnv;
}

/** A worker that lived shorter than this counts as crash-looping. */
const STABLE_UPTIME_MS = 10_000;
const RESTART_BASE_DELAY_MS = 500;
const RESTART_MAX_DELAY_MS = 30_000;
const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

interface WorkerSlot {
  index: number;
  child: ChildProcess | null;
  ready: boolean;
  startedAt: number;
  quickExits: number;
}

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #logger: Logger;
  readonly #slots: WorkerSlot[];
  #stopping = false;

  constructor(options: SupervisorOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger.child({ component: 'supervisor' });
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({
      index,
      child: null,
      ready: false,
      startedAt: 0,
      quickExits: 0,
    }));
  }

  start(): void {
    for (const slot of this.#slots) this.#spawn(slot);
  }

  /** Worker processes that reported ready and are alive. */
  get readyCount(): number {
    return this.#slots.filter((slot) => slot.ready).length;
  }

  /** Process ids of the live workers. */
  get pids(): number[] {
    return this.#slots.flatMap((slot) => (slot.child?.pid === undefined ? [] : [slot.child.pid]));
  }

  /** Resolves true once `count` workers are ready, false after `timeoutMs`. */
  async waitForReady(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.readyCount < count) {
      if (Date.now() > deadline || this.#stopping) return false;
      await sleep(50);
    }
    return true;
  }

  /** Sends SIGTERM to every worker, waits for them to drain, and kills those that do not. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#slots.map((slot) => this.#stopOne(slot)));
  }

  #spawn(slot: WorkerSlot): void {
    const child = fork(CLI_PATH, ['worker', '--concurrency', '1'], { env: this.#options.env });
    slot.child = child;
    slot.ready = false;
    slot.startedAt = Date.now();
    this.#lowerPriority(child);
    child.on('message', (message: unknown) => {
      if (isReady(message)) slot.ready = true;
    });
    child.once('exit', (code, signal) => this.#onExit(slot, child, code, signal));
    this.#logger.info({ slot: slot.index, workerPid: child.pid }, 'worker spawned');
  }

  #lowerPriority(child: ChildProcess): void {
    if (child.pid === undefined || this.#options.nice === 0) return;
    // Relative to this process, so workers always run below the API, whatever it started at.
    const niceness = Math.min(19, os.getPriority() + this.#options.nice);
    try {
      os.setPriority(child.pid, niceness);
    } catch (error) {
      this.#logger.warn({ err: toError(error) }, 'could not lower worker priority');
    }
  }

  #onExit(slot: WorkerSlot, child: ChildProcess, code: number | null, signal: string | null): void {
    if (slot.child !== child) return;
    slot.child = null;
    slot.ready = false;
    if (this.#stopping) return;

    const quick = Date.now() - slot.startedAt < STABLE_UPTIME_MS;
    slot.quickExits = quick ? slot.quickExits + 1 : 0;
    const delayMs = quick
      ? Math.min(RESTART_MAX_DELAY_MS, RESTART_BASE_DELAY_MS * 2 ** (slot.quickExits - 1))
      : 0;
    this.#logger.warn(
      { slot: slot.index, workerPid: child.pid, code, signal, delayMs },
      'worker exited; restarting',
    );
    setTimeout(() => {
      if (!this.#stopping) this.#spawn(slot);
    }, delayMs).unref();
  }

  async #stopOne(slot: WorkerSlot): Promise<void> {
    const child = slot.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killTimer = setTimeout(
      () => child.kill('SIGKILL'),
      this.#options.shutdownGraceMs + 5_000,
    );
    await exited;
    clearTimeout(killTimer);
  }
}

function isReady(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'ready'
  );
}
