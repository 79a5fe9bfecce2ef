import type Database from 'better-sqlite3';
import { databaseOf } from '../projections/sqlite/swappable.js';

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * A prepared statement, compiled once per connection and SQL text: queries run on every request. Keyed on the
 * connection behind a swappable handle, so a blue-green swap of the read model prepares afresh on the new one.
 */
export const prepared = <P extends unknown[] | object = unknown[], R = unknown>(handle: Database.Database, sql: string): Database.Statement<P, R> => {
  const db = databaseOf(handle);
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  let statement = cache.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    if (cache.size > 500) cache.clear();
    cache.set(sql, statement);
  }
  return statement as unknown as Database.Statement<P, R>;
};
