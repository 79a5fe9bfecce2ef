import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { batchWriter, openStoreConnection, type WriteBatch } from './sqliteWrite.js';

/**
 * The writer thread of the SQLite event store: it owns the write connection, so a batch's transaction and its fsync
 * run here while the API's event loop goes on serving. One batch at a time, in the order they come (the store sends
 * the next only after this one's reply), so group commit and stream order are as on the inline writer.
 */
type WriterData = { path: string; synchronous?: 'full' | 'normal' };

const { path, synchronous } = workerData as WriterData;
const db = openStoreConnection(new Database(path), synchronous);
const { write } = batchWriter(db);

parentPort!.on('message', (message: { id: number; batch: WriteBatch } | { close: true }) => {
  if ('close' in message) {
    db.close();
    parentPort!.close();
    return;
  }
  parentPort!.postMessage({ id: message.id, reply: write(message.batch) });
});
parentPort!.postMessage({ ready: true });
