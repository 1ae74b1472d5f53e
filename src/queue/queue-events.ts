// Typed, in-process queue events shared by every backend: a throwing listener is isolated so the
// queue operation that emitted the event carries on.

import { toError } from '../errors.js';
import type { QueueEventName, QueueEvents, QueueListener } from './backend.js';

/** A listener of any event; each is stored under the event it was registered for. */
type AnyQueueListener = (event: never) => void;

/**
 * Typed, in-process queue events. A listener that throws is isolated: its error goes to
 * `onListenerError` (or nowhere) and the operation that emitted the event carries on.
 */
export class QueueEventEmitter {
  readonly #listeners = new Map<QueueEventName, Set<AnyQueueListener>>();
  readonly #onListenerError: ((error: Error, event: QueueEventName) => void) | undefined;

  constructor(onListenerError?: (error: Error, event: QueueEventName) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    const listeners = this.#listeners.get(event) ?? new Set<AnyQueueListener>();
    listeners.add(listener);
    this.#listeners.set(event, listeners);
  }

  off<E extends QueueEventName>(event: E, listener: QueueListener<E>): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Calls the listeners of `event` in order; one that throws does not stop the others. */
  emit<E extends QueueEventName>(event: E, payload: QueueEvents[E]): void {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of [...listeners] as QueueListener<E>[]) {
      try {
        listener(payload);
      } catch (error) {
        this.#reportListenerError(toError(error), event);
      }
    }
  }

  /** Forgets every listener. */
  clear(): void {
    this.#listeners.clear();
  }

  #reportListenerError(error: Error, event: QueueEventName): void {
    try {
      this.#onListenerError?.(error, event);
    } catch {
      // The error handler itself failed: nothing is left to tell, and the queue must go on.
    }
  }
}
