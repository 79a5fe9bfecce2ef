import { badRequest } from '../errors.js';

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export const encodeCursor = (key: readonly unknown[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');

export const decodeCursor = (cursor: string, arity: number): unknown[] => {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === arity) return key;
  } catch {
    // fall through to the refusal below
  }
  throw badRequest('INVALID_CURSOR', 'The cursor is not one this endpoint handed out; start again without it.', { cursor });
};

export type Page<T> = { items: T[]; nextCursor: string | null };
