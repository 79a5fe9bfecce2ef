import { badRequest } from '../errors.js';

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export const encodeCursor = (key: readonly unknown[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');

const isScalar = (v: unknown) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** A cursor is an array of `arity` scalars (strings, finite numbers, null), the last one usually a row's sequence. */
export const decodeCursor = (cursor: string, arity: number): Array<string | number | null> => {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === arity && key.every(isScalar)) return key as Array<string | number | null>;
  } catch {
    // fall through to the refusal below
  }
  throw badRequest('INVALID_CURSOR', 'The cursor is not one this endpoint handed out; start again without it.', { cursor });
};

export type Page<T> = { items: T[]; nextCursor: string | null };
