// Opaque pagination cursors: a (timestamp, id) position encoded as base64url JSON.

import { ValidationError } from '../errors.js';

/** A position in a list ordered by time then id. */
export interface CursorPosition {
  at: number;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** @throws ValidationError TTSQ_CURSOR_INVALID when the cursor was not made by `encodeCursor`. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { at: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the error below: any undecodable cursor is the client's mistake.
  }
  throw new ValidationError('TTSQ_CURSOR_INVALID', 'cursor is not a value returned by this API');
}
