#!/usr/bin/env node
// The `ttsq` command: serve, worker, say and dlq. Every configuration setting is also a flag.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS, loadConfig, type GivenConfig } from './config.js';
import { TtsqError, toError } from './errors.js';
import { dlqList, dlqRetry } from './cli/dlq.js';
import { say } from './cli/say.js';
import { serve } from './cli/serve.js';
import { runWorkerProcess } from './worker/worker-process.js';

const USAGE = `usage:
  ttsq serve [--port N] [--host H] [--data-dir DIR] [--workers N] [...]
  ttsq worker [--concurrency N] [--data-dir DIR] [...]
  ttsq say TEXT -o FILE [--voice ID] [--speed X] [--url URL]
  ttsq dlq list [--limit N]
  ttsq dlq retry TASK_OR_JOB_ID

Every setting can be given as a flag or an environment variable; see the README.
`;

type Options = NonNullable<ParseArgsConfig['options']>;

const SETTING_FLAGS: Options = Object.fromEntries(
  SETTINGS.map((setting) => [setting.flag, { type: 'string' as const }]),
);

const COMMAND_FLAGS: Options = {
  concurrency: { type: 'string' },
  output: { type: 'string', short: 'o' },
  voice: { type: 'string' },
  speed: { type: 'string' },
  url: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...SETTING_FLAGS, ...COMMAND_FLAGS },
    allowPositionals: true,
    strict: true,
  });
  const flags = values as Record<string, string | boolean | undefined>;
  const [command, ...rest] = positionals;
  if (flags['help'] === true || command === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig(process.env, stringFlags(flags));
  switch (command) {
    case 'serve':
      return serve(config);
    case 'worker':
      return runWorkerProcess(config, positiveInt(flags['concurrency'], 1, '--concurrency'));
    case 'say':
      return say(sayOptions(rest, flags, config.port));
    case 'dlq':
      return dlq(rest, flags, config);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

async function dlq(
  rest: string[],
  flags: Record<string, unknown>,
  config: ReturnType<typeof loadConfig>,
) {
  const [action, id] = rest;
  if (action === 'list') return dlqList(config, positiveInt(flags['limit'], 50, '--limit'));
  if (action === 'retry' && id !== undefined) return dlqRetry(config, id);
  throw new UsageError('dlq needs "list" or "retry ID"');
}

function sayOptions(rest: string[], flags: Record<string, unknown>, port: number) {
  const text = rest.join(' ');
  const output = flags['output'];
  if (text === '' || typeof output !== 'string') throw new UsageError('say needs TEXT and -o FILE');
  const url = typeof flags['url'] === 'string' ? flags['url'] : `http://127.0.0.1:${port}`;
  const options: Parameters<typeof say>[0] = { text, output, url };
  if (typeof flags['voice'] === 'string') options.voice = flags['voice'];
  if (typeof flags['speed'] === 'string') options.speed = Number(flags['speed']);
  return options;
}

function stringFlags(flags: Record<string, unknown>): GivenConfig {
  const given: GivenConfig = {};
  for (const [key, value] of Object.entries(flags))
    if (typeof value === 'string') given[key] = value;
  return given;
}

function positiveInt(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new UsageError(`${name} must be a positive integer`);
  return parsed;
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((caught: unknown) => {
  const error = toError(caught);
  const prefix = error instanceof TtsqError ? `${error.code}: ` : '';
  process.stderr.write(`ttsq: ${prefix}${error.message}\n`);
  if (
    error instanceof UsageError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  process.exitCode = 1;
});
