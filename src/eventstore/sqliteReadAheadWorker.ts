import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { ackWindow } from '../util/worker.js';
import { READ_ALL_SQL, type EventRow } from './sqliteQuery.js';
import type { ReadAheadMessage } from './sqliteReadAhead.js';

/**
 * The reading side of readAheadSqlite: a read-only connection stepping the log in position order, one batch at a
 * time, never more than `window` batches ahead of their acknowledgements.
 */
const main = async () => {
  const { path, fromPosition, batchSize, window } = workerData as { path: string; fromPosition: number; batchSize: number; window: number };
  const port = parentPort!;
  const post = (message: ReadAheadMessage) => port.postMessage(message);
  const acks = ackWindow(port, window);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const read = db.prepare<[number, number], EventRow>(READ_ALL_SQL);
    let position = fromPosition;
    for (;;) {
      const rows = read.all(position, batchSize);
      if (rows.length === 0) break;
      position = rows.at(-1)!.position;
      post({ type: 'rows', rows });
      await acks.sent();
    }
    post({ type: 'done' });
  } catch (error) {
    post({ type: 'error', message: (error as Error).message });
  } finally {
    db?.close();
  }
  port.close();
};

void main();
