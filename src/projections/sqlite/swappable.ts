import Database from 'better-sqlite3';

const TARGET = Symbol('vespera.swappableDatabase.target');

/**
 * One `Database` handle for every reader, whose connection can be replaced (blue-green rebuild): each property is
 * read from the current connection and methods are bound to it. Statements already prepared belong to the old
 * connection, so statement caches key on `databaseOf(handle)`.
 */
export type SwappableDatabase = Readonly<{
  /** Hand this to readers; it always reaches the current connection. */
  db: Database.Database;
  current: () => Database.Database;
  /** Points the handle at `next` and returns the connection it replaced (the caller closes it). */
  swap: (next: Database.Database) => Database.Database;
}>;

export const swappableDatabase = (initial: Database.Database): SwappableDatabase => {
  let target = initial;
  let bound = new Map<PropertyKey, unknown>();
  // The proxy's own target is an empty object of the same prototype: `instanceof Database` holds, and no own
  // non-configurable property of the first connection pins what the proxy may answer after a swap.
  const db = new Proxy(Object.create(Database.prototype) as Database.Database, {
    get: (_shell, prop) => {
      if (prop === TARGET) return target;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (!fn) bound.set(prop, (fn = (value as (...args: unknown[]) => unknown).bind(target)));
      return fn;
    },
    set: (_shell, prop, value) => Reflect.set(target, prop, value, target),
    has: (_shell, prop) => prop === TARGET || Reflect.has(target, prop),
  });
  return {
    db,
    current: () => target,
    swap: (next) => {
      const old = target;
      target = next;
      bound = new Map();
      return old;
    },
  };
};

/** The connection behind a handle (itself for a plain connection): what a statement cache must key on. */
export const databaseOf = (db: Database.Database): Database.Database =>
  (db as unknown as Record<symbol, Database.Database | undefined>)[TARGET] ?? db;
