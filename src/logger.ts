// The one place that creates loggers: pino, JSON lines on stdout. The root logger names the
// process's `role` (serve, worker, cli); child loggers add a `component`.

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** What a process is: its root logger's `role` field. */
export type ProcessRole = 'serve' | 'worker' | 'cli';

/** Creates the root logger of a process. `level` is a pino level name. */
export function createLogger(level: string, role: ProcessRole): Logger {
  return pino({ level, base: { pid: process.pid, role } });
}
