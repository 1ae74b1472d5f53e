// Validation shared by every queue backend: the options a queue is built with and the fields of
// each task enqueued, so both backends refuse the same input with the same TypeError.

import type { QueueOptions, TaskInput } from './backend.js';

/** Priority of a task that does not set one. */
export const DEFAULT_TASK_PRIORITY = 100;

/** Largest (least urgent) priority a task may have; 1 is the most urgent. Same as BullMQ. */
export const MAX_TASK_PRIORITY = 2_097_152;

/** Code stored on a task whose lease expired (and, past `maxStalledCount`, that died of it). */
export const TASK_STALLED_CODE = 'TTSQ_TASK_STALLED';

/** A task with every default applied and every field checked. */
export interface ValidTask {
  id: string;
  groupId: string;
  payload: unknown;
  priority: number;
  maxAttempts: number;
  runAt: number;
}

/**
 * Applies defaults to a task and checks it.
 * @throws TypeError naming the field when the id, groupId, priority, maxAttempts or runAt is bad.
 */
export function validateTask(task: TaskInput, now: number, defaultMaxAttempts: number): ValidTask {
  if (typeof task.id !== 'string' || task.id === '') {
    throw new TypeError('task id must be a non-empty string');
  }
  if (typeof task.groupId !== 'string') throw new TypeError('task groupId must be a string');
  const priority = task.priority ?? DEFAULT_TASK_PRIORITY;
  requirePriority(priority);
  const maxAttempts = task.maxAttempts ?? defaultMaxAttempts;
  requirePositiveInteger('maxAttempts', maxAttempts);
  const runAt = task.runAt ?? now;
  if (!Number.isFinite(runAt)) throw new TypeError(`runAt must be epoch ms, got ${runAt}`);
  const payload = task.payload ?? null;
  return { id: task.id, groupId: task.groupId, payload, priority, maxAttempts, runAt };
}

/** Validates and freezes the shared options. @throws TypeError naming the bad option. */
export function compileQueueOptions(options: QueueOptions): Readonly<QueueOptions> {
  requirePositiveInteger('maxAttempts', options.maxAttempts);
  if (!Number.isInteger(options.maxStalledCount) || options.maxStalledCount < 0) {
    throw new TypeError(`maxStalledCount must be an integer >= 0, got ${options.maxStalledCount}`);
  }
  if (!Number.isFinite(options.backoffBaseMs) || options.backoffBaseMs < 0) {
    throw new TypeError(`backoffBaseMs must be a number >= 0, got ${options.backoffBaseMs}`);
  }
  if (!(options.backoffMaxMs >= options.backoffBaseMs) || !Number.isFinite(options.backoffMaxMs)) {
    throw new TypeError(
      `backoffMaxMs must be a number >= backoffBaseMs, got ${options.backoffMaxMs}`,
    );
  }
  const { maxAttempts, maxStalledCount, backoffBaseMs, backoffMaxMs } = options;
  return Object.freeze({ maxAttempts, maxStalledCount, backoffBaseMs, backoffMaxMs });
}

/** @throws TypeError unless `priority` is an integer from 1 to MAX_TASK_PRIORITY. */
export function requirePriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 1 || priority > MAX_TASK_PRIORITY) {
    throw new TypeError(
      `priority must be an integer from 1 to ${MAX_TASK_PRIORITY}, got ${priority}`,
    );
  }
}

/** @throws TypeError naming `name` unless `value` is an integer >= 1. */
export function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer, got ${value}`);
  }
}

/** @throws TypeError naming `name` unless `value` is a finite number > 0. */
export function requirePositiveNumber(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number, got ${value}`);
  }
}
