import { parentPort, workerData } from 'node:worker_threads';
import { DomainError } from '../errors.js';
import { ackWindow } from '../util/worker.js';
import { readBackup } from './backup.js';
import type { ReaderMessage } from './backupReader.js';

/**
 * Reads and checks a backup off the restoring thread (readBackupInWorker): every checked batch is posted, and the
 * next one is read only while fewer than `window` batches wait for their acknowledgement, so memory stays bounded.
 */
const main = async () => {
  const { file, batchSize, window } = workerData as { file: string; batchSize: number; window: number };
  const port = parentPort!;
  const post = (message: ReaderMessage) => port.postMessage(message);
  const acks = ackWindow(port, window);
  try {
    const trailer = await readBackup(
      file,
      async (rows, progress) => {
        post({ type: 'rows', rows, progress });
        await acks.sent();
      },
      batchSize,
    );
    post({ type: 'done', trailer });
  } catch (error) {
    const e = error instanceof DomainError ? error : new DomainError('BACKUP_INVALID', 422, (error as Error).message);
    post({ type: 'error', error: { code: e.code, status: e.status, message: e.message, details: e.details, ...(e.hint ? { hint: e.hint } : {}) } });
  }
  port.close();
};

void main();
