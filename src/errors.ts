// The error catalogue: every error ttsq raises on purpose has a stable `TTSQ_…` code and an HTTP
// status. Codes are never reused. Subclasses decide retry behaviour in workers.

/** Options every ttsq error accepts. */
export interface TtsqErrorOptions {
  cause?: unknown;
}

/** Base class of every deliberate ttsq error: a stable `code` and the HTTP status it maps to. */
export class TtsqError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode = 500, options: TtsqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** The request is malformed or breaks a limit (400 unless another status is given). */
export class ValidationError extends TtsqError {
  constructor(code: string, message: string, statusCode = 400) {
    super(code, message, statusCode);
  }
}

/** The addressed resource does not exist, or is not visible to the caller. */
export class NotFoundError extends TtsqError {
  constructor(message = 'Not found', code = 'TTSQ_NOT_FOUND') {
    super(code, message, 404);
  }
}

/** The resource exists but is not in a state that allows the operation. */
export class ConflictError extends TtsqError {
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, message: string, retryAfterSeconds?: number) {
    super(code, message, 409);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The service cannot take the request right now (backlog, dependency down): 503. */
export class UnavailableError extends TtsqError {
  readonly retryAfterSeconds: number;

  constructor(code: string, message: string, retryAfterSeconds = 5) {
    super(code, message, 503);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A task failure that retrying cannot fix (bad input, unknown voice, tampered payload): the
 * queue dead-letters the task at once instead of backing off.
 */
export class PermanentTaskError extends TtsqError {
  constructor(code: string, message: string, options: TtsqErrorOptions = {}) {
    super(code, message, 422, options);
  }
}

/** A task failure that may pass on a later attempt (engine crash, timeout, I/O). */
export class TransientTaskError extends TtsqError {
  constructor(code: string, message: string, options: TtsqErrorOptions = {}) {
    super(code, message, 500, options);
  }
}

/**
 * A running task was stopped from outside (job canceled, lease lost, worker draining): the
 * attempt is dropped, neither failed nor retried.
 */
export class TaskAbortedError extends TtsqError {
  constructor(message = 'task aborted', options: TtsqErrorOptions = {}) {
    super('TTSQ_TASK_ABORTED', message, 409, options);
  }
}

/** A value from configuration (environment or flag) is invalid; names the setting. */
export class ConfigError extends TtsqError {
  constructor(message: string) {
    super('TTSQ_CONFIG_INVALID', message, 500);
  }
}

/** Normalizes anything caught as `unknown` into an `Error`, once, at the catch site. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The stable code of an error: its own `code` when it is a ttsq error, otherwise the fallback. */
export function errorCode(error: Error, fallback = 'TTSQ_INTERNAL'): string {
  return error instanceof TtsqError ? error.code : fallback;
}
