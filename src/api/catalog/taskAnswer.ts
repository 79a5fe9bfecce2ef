import type Database from 'better-sqlite3';
import { getTask, type TaskView } from '../../queries/tasks.js';
import type { OperationResult } from './operation.js';

export type TaskAnswerDeps = Readonly<{
  readDb: Database.Database;
  waitForReadModel: (position: number) => Promise<void>;
  /** Told of the task's lease, when it has one, so the lease is expired on time. */
  leases?: { schedule: (taskId: string, leaseExpiresAt: string) => void };
}>;

export type TaskAnswer = OperationResult<TaskView> & Readonly<{ position: number; version: number }>;

/**
 * Read-your-writes for a write that changed one task: once the SQLite model has applied `position`, the task
 * as it is now, with its version for the ETag.
 */
export const taskAnswerer =
  ({ readDb, waitForReadModel, leases }: TaskAnswerDeps) =>
  async (taskId: string, position: number): Promise<TaskAnswer> => {
    await waitForReadModel(position);
    const task = getTask(readDb, taskId);
    if (leases && task.leaseExpiresAt) leases.schedule(task.id, task.leaseExpiresAt);
    return { body: task, position, version: task.version };
  };
