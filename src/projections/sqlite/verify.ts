import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../../events/types.js';
import type { EventStore } from '../../eventstore/eventStore.js';
import { boundedStore } from '../boundedStore.js';
import { compareKeys, type VerifyProgress } from '../verifyReport.js';
import { SQLITE_PROJECTOR } from './projection.js';
import { READ_MODEL_KEYS } from './readModel.js';
import { rebuildReadModel } from './rebuild.js';
import { SQLITE_PROJECTION_VERSION } from './schema.js';

type Value = string | number | bigint | Buffer | null;
type Row = Record<string, Value>;

export type RowExample =
  | Readonly<{ kind: 'onlyLive' | 'onlyRebuilt'; key: Row; row: Row }>
  | Readonly<{ kind: 'differing'; key: Row; columns: ReadonlyArray<{ column: string; live: Value; rebuilt: Value }> }>;

export type TableDiff = Readonly<{
  table: string;
  liveRows: number;
  rebuiltRows: number;
  onlyLive: number;
  onlyRebuilt: number;
  differing: number;
  /** The first differences in key order, at most `examples` of them. */
  examples: readonly RowExample[];
  /** Set when the two tables do not have the same columns (rows are then not compared). */
  columns?: Readonly<{ live: string[]; rebuilt: string[] }>;
}>;

export type SqliteVerifyReport = Readonly<{
  model: 'sqlite';
  equal: boolean;
  /** The live model's checkpoint: both sides hold exactly the events up to here. */
  position: number;
  /** Why the rows were not compared, when they were not. */
  note?: string;
  tables: readonly TableDiff[];
  seconds: number;
}>;

export type SqliteVerifyOptions = Readonly<{
  store: EventStore;
  /** The live read model (read.db); opened read-only, never written. */
  liveFile: string;
  /** Where the model rebuilt aside goes (a fresh directory is made under it and removed). */
  tmpDir: string;
  examples?: number;
  onProgress?: (progress: VerifyProgress) => void;
  signal?: AbortSignal;
  /** Every batch of the log the rebuild reads, for another fold to share the read (see wiring/verify.ts). */
  onEvents?: (events: readonly StoredEvent[]) => void;
}>;

/**
 * Rebuilds the SQLite read model aside from the log up to the live model's checkpoint and compares the two
 * table by table, streaming both in key order. The live checkpoint and rows come from one read transaction on
 * a read-only connection, so a server writing the file meanwhile (WAL) neither blocks it nor shifts the cut.
 */
export const verifySqlite = async (opts: SqliteVerifyOptions): Promise<SqliteVerifyReport> => {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  if (!fs.existsSync(opts.liveFile)) throw new Error(`There is no SQLite read model at ${opts.liveFile}.`);
  const live = new Database(opts.liveFile, { readonly: true, fileMustExist: true });
  fs.mkdirSync(opts.tmpDir, { recursive: true, mode: 0o700 });
  const aside = fs.mkdtempSync(path.join(opts.tmpDir, 'verify-sqlite-'));
  let rebuilt: Database.Database | undefined;
  try {
    live.exec('BEGIN');
    const hasCheckpoints = live.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get() !== undefined;
    const checkpoint = hasCheckpoints
      ? live
          .prepare<[string], { position: number; version: number }>('SELECT position, version FROM checkpoints WHERE projector = ?')
          .get(SQLITE_PROJECTOR)
      : undefined;
    const position = checkpoint?.position ?? 0;
    if (checkpoint && checkpoint.version !== SQLITE_PROJECTION_VERSION) {
      const note = `The live model was built by projector version ${checkpoint.version}, this one is ${SQLITE_PROJECTION_VERSION}: it is rebuilt at the next start.`;
      return { model: 'sqlite', equal: false, position, note, tables: [], seconds: seconds() };
    }
    const file = path.join(aside, 'read.db');
    const head = position;
    await rebuildReadModel(boundedStore(opts.store, position, opts.signal, opts.onEvents), file, (p) =>
      opts.onProgress?.({ phase: 'sqlite: rebuilding aside', eventsDone: p.position, eventsTotal: head }),
    );
    opts.signal?.throwIfAborted();
    opts.onProgress?.({ phase: 'sqlite: comparing', eventsDone: head, eventsTotal: head });
    rebuilt = new Database(file, { readonly: true, fileMustExist: true });
    const tables = Object.entries(READ_MODEL_KEYS).map(([table, keys]) => compareTable(live, rebuilt!, table, keys, opts.examples ?? 10));
    const equal = tables.every((t) => t.onlyLive + t.onlyRebuilt + t.differing === 0 && !t.columns);
    return { model: 'sqlite', equal, position, tables, seconds: seconds() };
  } finally {
    if (live.inTransaction) live.exec('COMMIT');
    live.close();
    rebuilt?.close();
    fs.rmSync(aside, { recursive: true, force: true });
  }
};

const exists = (db: Database.Database, table: string) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(table) !== undefined;

/** Table and key names come from READ_MODEL_KEYS (fixed), never from input. */
const rowsOf = (db: Database.Database, table: string, keys: string) => {
  if (!exists(db, table)) return { columns: [] as string[], rows: [][Symbol.iterator]() as IterableIterator<Value[]> };
  const statement = db.prepare(`SELECT ${table === 'tasks_fts' ? 'rowid, *' : '*'} FROM ${table} ORDER BY ${keys}`).raw(true);
  return { columns: statement.columns().map((c) => c.name), rows: statement.iterate() as IterableIterator<Value[]> };
};

const compareTable = (live: Database.Database, rebuilt: Database.Database, table: string, keys: string, limit: number): TableDiff => {
  const a = rowsOf(live, table, keys);
  const b = rowsOf(rebuilt, table, keys);
  const keyColumns = keys.split(',').map((k) => k.trim());
  const counts = { liveRows: 0, rebuiltRows: 0, onlyLive: 0, onlyRebuilt: 0, differing: 0 };
  const examples: RowExample[] = [];
  if (a.columns.join(',') !== b.columns.join(',')) {
    for (const _ of a.rows) counts.liveRows += 1;
    for (const _ of b.rows) counts.rebuiltRows += 1;
    return { table, ...counts, examples, columns: { live: a.columns, rebuilt: b.columns } };
  }
  const columns = a.columns;
  const keyAt = keyColumns.map((k) => columns.indexOf(k));
  const keyOf = (row: Value[]): Row => Object.fromEntries(keyColumns.map((k, i) => [k, row[keyAt[i]!]!]));
  const asRow = (row: Value[]): Row => Object.fromEntries(columns.map((c, i) => [c, row[i]!]));
  const note = (example: RowExample) => {
    if (examples.length < limit) examples.push(example);
  };
  let x = a.rows.next();
  let y = b.rows.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareKeys(keyAt, x.value, y.value);
    if (order < 0) {
      counts.liveRows += 1;
      counts.onlyLive += 1;
      note({ kind: 'onlyLive', key: keyOf(x.value!), row: asRow(x.value!) });
      x = a.rows.next();
    } else if (order > 0) {
      counts.rebuiltRows += 1;
      counts.onlyRebuilt += 1;
      note({ kind: 'onlyRebuilt', key: keyOf(y.value!), row: asRow(y.value!) });
      y = b.rows.next();
    } else {
      counts.liveRows += 1;
      counts.rebuiltRows += 1;
      const l = x.value!;
      const r = y.value!;
      let same = true;
      for (let i = 0; same && i < l.length; i++) same = sameValue(l[i]!, r[i]!);
      const differ = same ? [] : columns.flatMap((column, i) => (sameValue(l[i]!, r[i]!) ? [] : [{ column, live: l[i]!, rebuilt: r[i]! }]));
      if (differ.length > 0) {
        counts.differing += 1;
        note({ kind: 'differing', key: keyOf(l), columns: differ });
      }
      x = a.rows.next();
      y = b.rows.next();
    }
  }
  return { table, ...counts, examples };
};

const sameValue = (a: Value, b: Value): boolean => a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
