// The one place that creates loggers: pino, JSON lines on stdout, with a `component` field.

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Creates the root logger of a process. `level` is a pino level name. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
