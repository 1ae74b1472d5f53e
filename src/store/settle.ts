// Bridges synchronous storage calls (better-sqlite3) to the asynchronous contracts: a throw
// becomes a rejected promise, never an exception escaping a promise-returning method.

/** Runs `operation` now and settles a promise with its result or its error. */
export function settle<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
