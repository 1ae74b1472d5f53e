// One configuration schema: every setting's environment variable, flag, unit and default live
// here, are read in one place and validated at start-up into a frozen `Config`.

import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';

/** The resolved, validated configuration every component receives. Durations are in ms. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly workers: number;
  readonly logLevel: string;
  readonly defaultVoice: string;
  readonly maxTextChars: number;
  readonly maxBodyBytes: number;
  readonly segmentMaxChars: number;
  readonly maxWaitSeconds: number;
  readonly leaseDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly taskTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly workerNice: number;
  readonly shutdownGraceMs: number;
  /** Piper voices, Coqui exports and sherpa-onnx models; default `<dataDir>/models`. */
  readonly modelsDir: string;
  readonly espeakDataDir: string;
  readonly coquiUrl: string;
  readonly coquiTimeoutMs: number;
  readonly voiceRescanIntervalMs: number;
  /** Redis URL of distributed mode; empty: the embedded SQLite backend. */
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly audioRetentionSeconds: number;
}

type Kind = 'string' | 'int';

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  kind: Kind;
  min?: number;
  max?: number;
  defaultValue: () => string | number;
  doc: string;
}

const S = (s: Setting): Setting => s;

/** Every setting, in the order the README's configuration table lists them. */
export const SETTINGS: readonly Setting[] = [
  S({
    key: 'host',
    env: 'TTSQ_HOST',
    flag: 'host',
    kind: 'string',
    defaultValue: () => '127.0.0.1',
    doc: 'Address the HTTP API listens on.',
  }),
  S({
    key: 'port',
    env: 'TTSQ_PORT',
    flag: 'port',
    kind: 'int',
    min: 0,
    max: 65535,
    defaultValue: () => 8080,
    doc: 'TCP port of the HTTP API (0 picks a free one).',
  }),
  S({
    key: 'dataDir',
    env: 'TTSQ_DATA_DIR',
    flag: 'data-dir',
    kind: 'string',
    defaultValue: () => './data',
    doc: 'Directory of the queue database and the audio files.',
  }),
  S({
    key: 'workers',
    env: 'TTSQ_WORKERS',
    flag: 'workers',
    kind: 'int',
    min: 0,
    max: 256,
    defaultValue: () => os.availableParallelism(),
    doc: 'Worker processes `ttsq serve` keeps alive (0: API only).',
  }),
  S({
    key: 'logLevel',
    env: 'TTSQ_LOG_LEVEL',
    flag: 'log-level',
    kind: 'string',
    defaultValue: () => 'info',
    doc: 'pino level: fatal, error, warn, info, debug, trace, silent.',
  }),
  S({
    key: 'defaultVoice',
    env: 'TTSQ_DEFAULT_VOICE',
    flag: 'default-voice',
    kind: 'string',
    defaultValue: () => 'espeak:en-us',
    doc: 'Voice used when a request names none.',
  }),
  S({
    key: 'maxTextChars',
    env: 'TTSQ_MAX_TEXT_CHARS',
    flag: 'max-text-chars',
    kind: 'int',
    min: 1,
    max: 10_000_000,
    defaultValue: () => 100_000,
    doc: 'Longest accepted text, in characters.',
  }),
  S({
    key: 'maxBodyBytes',
    env: 'TTSQ_MAX_BODY_BYTES',
    flag: 'max-body-bytes',
    kind: 'int',
    min: 1024,
    max: 1 << 30,
    defaultValue: () => 1 << 20,
    doc: 'Largest accepted request body, in bytes.',
  }),
  S({
    key: 'segmentMaxChars',
    env: 'TTSQ_SEGMENT_MAX_CHARS',
    flag: 'segment-max-chars',
    kind: 'int',
    min: 20,
    max: 1_000_000,
    defaultValue: () => 400,
    doc: 'Longest segment; sentences are packed up to it and longer ones split.',
  }),
  S({
    key: 'maxWaitSeconds',
    env: 'TTSQ_MAX_WAIT_SECONDS',
    flag: 'max-wait-seconds',
    kind: 'int',
    min: 0,
    max: 3600,
    defaultValue: () => 60,
    doc: 'Upper bound of `?wait=` on the audio endpoint.',
  }),
  S({
    key: 'leaseDurationMs',
    env: 'TTSQ_LEASE_DURATION_MS',
    flag: 'lease-duration-ms',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    defaultValue: () => 10_000,
    doc: 'How long a claimed task stays leased without renewal (renewed every third of it).',
  }),
  S({
    key: 'stalledIntervalMs',
    env: 'TTSQ_STALLED_INTERVAL_MS',
    flag: 'stalled-interval-ms',
    kind: 'int',
    min: 50,
    max: 3_600_000,
    defaultValue: () => 5_000,
    doc: 'How often workers look for expired leases.',
  }),
  S({
    key: 'maxStalledCount',
    env: 'TTSQ_MAX_STALLED_COUNT',
    flag: 'max-stalled-count',
    kind: 'int',
    min: 0,
    max: 1000,
    defaultValue: () => 2,
    doc: 'Lease expiries a task survives before it is dead-lettered.',
  }),
  S({
    key: 'maxAttempts',
    env: 'TTSQ_MAX_ATTEMPTS',
    flag: 'max-attempts',
    kind: 'int',
    min: 1,
    max: 1000,
    defaultValue: () => 3,
    doc: 'Attempts of a task before it is dead-lettered.',
  }),
  S({
    key: 'backoffBaseMs',
    env: 'TTSQ_BACKOFF_BASE_MS',
    flag: 'backoff-base-ms',
    kind: 'int',
    min: 0,
    max: 3_600_000,
    defaultValue: () => 1_000,
    doc: 'Delay before the first retry; doubles each attempt, with jitter.',
  }),
  S({
    key: 'backoffMaxMs',
    env: 'TTSQ_BACKOFF_MAX_MS',
    flag: 'backoff-max-ms',
    kind: 'int',
    min: 0,
    max: 86_400_000,
    defaultValue: () => 60_000,
    doc: 'Longest retry delay.',
  }),
  S({
    key: 'taskTimeoutMs',
    env: 'TTSQ_TASK_TIMEOUT_MS',
    flag: 'task-timeout-ms',
    kind: 'int',
    min: 100,
    max: 86_400_000,
    defaultValue: () => 120_000,
    doc: 'A synthesis running longer is killed and counts as a failed attempt.',
  }),
  S({
    key: 'pollIntervalMs',
    env: 'TTSQ_POLL_INTERVAL_MS',
    flag: 'poll-interval-ms',
    kind: 'int',
    min: 5,
    max: 60_000,
    defaultValue: () => 100,
    doc: 'How often an idle worker asks the queue for a task.',
  }),
  S({
    key: 'workerNice',
    env: 'TTSQ_WORKER_NICE',
    flag: 'worker-nice',
    kind: 'int',
    min: 0,
    max: 19,
    defaultValue: () => 10,
    doc: 'Niceness added to worker processes, so the API stays responsive.',
  }),
  S({
    key: 'shutdownGraceMs',
    env: 'TTSQ_SHUTDOWN_GRACE_MS',
    flag: 'shutdown-grace-ms',
    kind: 'int',
    min: 0,
    max: 3_600_000,
    defaultValue: () => 30_000,
    doc: 'How long a draining worker may finish its task before it releases it.',
  }),
  S({
    key: 'modelsDir',
    env: 'TTSQ_MODELS_DIR',
    flag: 'models-dir',
    kind: 'string',
    defaultValue: () => '',
    doc: 'Directory of Piper voices, Coqui VITS exports and sherpa-onnx models (default `<data dir>/models`).',
  }),
  S({
    key: 'espeakDataDir',
    env: 'TTSQ_ESPEAK_DATA_DIR',
    flag: 'espeak-data-dir',
    kind: 'string',
    defaultValue: () => '',
    doc: 'espeak-ng data for phonemizing models; empty: Debian espeak-ng-data if installed, else the bundled copy.',
  }),
  S({
    key: 'coquiUrl',
    env: 'TTSQ_COQUI_URL',
    flag: 'coqui-url',
    kind: 'string',
    defaultValue: () => '',
    doc: 'Base URL of a Coqui tts-server whose voices workers offer as `coqui-server:…`; empty disables it.',
  }),
  S({
    key: 'coquiTimeoutMs',
    env: 'TTSQ_COQUI_TIMEOUT_MS',
    flag: 'coqui-timeout-ms',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    defaultValue: () => 60_000,
    doc: 'How long one request to the Coqui server may take before the attempt fails.',
  }),
  S({
    key: 'voiceRescanIntervalMs',
    env: 'TTSQ_VOICE_RESCAN_INTERVAL_MS',
    flag: 'voice-rescan-interval-ms',
    kind: 'int',
    min: 100,
    max: 3_600_000,
    defaultValue: () => 3_000,
    doc: 'How often workers rescan the models directory (and the Coqui server) for voices.',
  }),
  S({
    key: 'redisUrl',
    env: 'TTSQ_REDIS_URL',
    flag: 'redis-url',
    kind: 'string',
    defaultValue: () => '',
    doc: 'Distributed mode: queue, jobs and audio on this Redis (redis://user:pass@host:6379/0, rediss:// for TLS). Empty: embedded SQLite.',
  }),
  S({
    key: 'redisPrefix',
    env: 'TTSQ_REDIS_PREFIX',
    flag: 'redis-prefix',
    kind: 'string',
    defaultValue: () => 'ttsq',
    doc: 'Prefix of every Redis key, so several deployments can share one Redis.',
  }),
  S({
    key: 'audioRetentionSeconds',
    env: 'TTSQ_AUDIO_RETENTION_SECONDS',
    flag: 'audio-retention-seconds',
    kind: 'int',
    min: 60,
    max: 315_360_000,
    defaultValue: () => 604_800,
    doc: 'How long audio is kept in Redis (its TTL) in distributed mode; default 7 days.',
  }),
];

/** Raw values as given: flags win over environment variables. */
export type GivenConfig = Partial<Record<string, string | undefined>>;

/**
 * Builds the configuration from environment variables and CLI flags (flag names without `--`),
 * fills defaults and validates every value.
 * @throws ConfigError naming the setting and the accepted range.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  flags: GivenConfig = {},
  overrides: Partial<Config> = {},
): Config {
  const values: Record<string, string | number> = {};
  for (const setting of SETTINGS) {
    const raw = flags[setting.flag] ?? env[setting.env];
    values[setting.key] =
      raw === undefined || raw === '' ? setting.defaultValue() : parse(setting, raw);
  }
  const config = { ...values, ...overrides } as unknown as Config;
  checkRelations(config);
  const dataDir = path.resolve(config.dataDir);
  const modelsDir = path.resolve(config.modelsDir || path.join(dataDir, 'models'));
  return Object.freeze({ ...config, dataDir, modelsDir });
}

function parse(setting: Setting, raw: string): string | number {
  if (setting.kind === 'string') return raw;
  const value = Number(raw.trim());
  const name = `${setting.env} (--${setting.flag})`;
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  }
  if (
    (setting.min !== undefined && value < setting.min) ||
    (setting.max !== undefined && value > setting.max)
  ) {
    throw new ConfigError(
      `${name} must be between ${setting.min} and ${setting.max}, got ${value}`,
    );
  }
  return value;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function checkRelations(config: Config): void {
  if (!LOG_LEVELS.has(config.logLevel)) {
    throw new ConfigError(
      `TTSQ_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(config.logLevel)}`,
    );
  }
  if (!/^[a-z0-9-]+:\S+$/.test(config.defaultVoice)) {
    throw new ConfigError(
      `TTSQ_DEFAULT_VOICE must look like engine:voice, got ${JSON.stringify(config.defaultVoice)}`,
    );
  }
  if (config.backoffMaxMs < config.backoffBaseMs) {
    throw new ConfigError('TTSQ_BACKOFF_MAX_MS must not be below TTSQ_BACKOFF_BASE_MS');
  }
  checkRedisSettings(config);
}

function checkRedisSettings(config: Config): void {
  if (config.redisUrl !== '' && !/^rediss?:\/\/[^\s]+$/.test(config.redisUrl)) {
    throw new ConfigError('TTSQ_REDIS_URL must start with redis:// or rediss://');
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(config.redisPrefix)) {
    throw new ConfigError(
      `TTSQ_REDIS_PREFIX must be 1-64 letters, digits, '_', '.' or '-', got ${JSON.stringify(config.redisPrefix)}`,
    );
  }
}

/** The configuration as environment variables, for handing it to a child process. */
export function configToEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const setting of SETTINGS) env[setting.env] = String(config[setting.key]);
  return env;
}
