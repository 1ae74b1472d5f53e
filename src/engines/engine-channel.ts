// The host's end of an engine: a worker thread or a child process that speaks the protocol of
// `engine-service.ts`. Both look the same to `EngineHost`: send, messages, error, exit, kill.

import { fork } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineMessage, EngineThreadData, EngineThreadRequest } from './engine-service.js';
import type { EngineIsolation } from './registry.js';

const THREAD_SCRIPT_URL = new URL('./engine-thread.js', import.meta.url);
const PROCESS_SCRIPT_PATH = fileURLToPath(new URL('./engine-process.js', import.meta.url));

/** What a channel reports. `exit` fires once, after which nothing else does. */
export interface EngineChannelEvents {
  message(message: EngineMessage): void;
  error(error: Error): void;
  exit(exitCode: number): void;
  /** A line the engine process wrote to stdout or stderr (native libraries log there). */
  output(line: string): void;
}

/** A running engine thread or process. */
export interface EngineChannel {
  send(request: EngineThreadRequest): void;
  /** Stops it at once (a thread is terminated, a process gets SIGKILL); resolves when gone. */
  kill(): Promise<void>;
}

function threadChannel(data: EngineThreadData, events: EngineChannelEvents): EngineChannel {
  const worker = new Worker(THREAD_SCRIPT_URL, { workerData: data });
  worker.on('message', (message: EngineMessage) => events.message(message));
  worker.on('error', (error) => events.error(error));
  worker.on('exit', (exitCode) => events.exit(exitCode));
  return {
    send: (request) => worker.postMessage(request),
    kill: async () => {
      await worker.terminate();
    },
  };
}

/** Exit code of a process killed by a signal, as a shell reports it. */
const SIGNAL_EXIT_BASE = 128;

function processChannel(data: EngineThreadData, events: EngineChannelEvents): EngineChannel {
  const child = fork(PROCESS_SCRIPT_PATH, [JSON.stringify(data)], {
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: [],
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      events.exit(code ?? SIGNAL_EXIT_BASE + (signal === 'SIGKILL' ? 9 : 15));
      resolve();
    });
  });
  child.on('message', (message: EngineMessage) => events.message(message));
  child.on('error', (error) => events.error(error));
  for (const stream of [child.stdout, child.stderr]) {
    if (stream)
      readline.createInterface({ input: stream }).on('line', (line) => events.output(line));
  }
  return {
    send: (request) => {
      if (child.connected) child.send(request);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts an engine thread or process for `data.engine`. */
export function openEngineChannel(
  isolation: EngineIsolation,
  data: EngineThreadData,
  events: EngineChannelEvents,
): EngineChannel {
  return isolation === 'process' ? processChannel(data, events) : threadChannel(data, events);
}
