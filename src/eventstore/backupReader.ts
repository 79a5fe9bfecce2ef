import { DomainError } from '../errors.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { BackupRow, Trailer } from './backup.js';

export type ReaderMessage =
  | { type: 'rows'; rows: BackupRow[]; progress: Readonly<{ done: number; total: number }> }
  | { type: 'done'; trailer: Trailer }
  | {
      type: 'error';
      error: { code: string; status: number; message: string; details: Readonly<Record<string, unknown>>; hint?: string };
    };

/**
 * `readBackup` in a worker thread, so checking the lines (checksums, JSON, order) overlaps with writing them on this
 * thread: `onRows` gets each checked batch in file order, and at most `window` batches are read ahead of it. Resolves
 * with the trailer once the whole file checked out; rejects with the first bad line's BACKUP_INVALID, as readBackup.
 */
export const readBackupInWorker = (
  file: string,
  onRows: (rows: BackupRow[], progress: Readonly<{ done: number; total: number }>) => void,
  { batchSize = 10_000, window = 4 }: { batchSize?: number; window?: number } = {},
): Promise<Trailer> =>
  new Promise((resolve, reject) => {
    const worker = spawnModuleWorker(import.meta.url, 'backupWorker', { file, batchSize, window });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      fn();
    };
    worker.on('message', (message: ReaderMessage) => {
      if (settled) return;
      if (message.type === 'rows') {
        try {
          onRows(message.rows, message.progress);
        } catch (error) {
          settle(() => reject(error as Error));
          return;
        }
        worker.postMessage('ack');
      } else if (message.type === 'done') settle(() => resolve(message.trailer));
      else {
        const { code, status, message: detail, details, hint } = message.error;
        settle(() => reject(new DomainError(code, status, detail, details, hint)));
      }
    });
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the backup reader exited (${code}) before it finished`))));
  });
