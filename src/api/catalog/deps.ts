import type Database from 'better-sqlite3';
import type { ProjectCommands } from '../../commands/project/commands.js';

/** What the task and project operations need, built once in app.ts. */
export type CatalogDeps = Readonly<{
  commands: ProjectCommands;
  readDb: Database.Database;
  /** Resolves once the SQLite read model has applied `position` (bounded wait). */
  waitForReadModel: (position: number) => Promise<void>;
  /** Critical-path length, ready tasks per role and top bottlenecks of a project, for its dashboard. */
  dashboardExtras?: (projectId: string) => Record<string, unknown>;
  /** Existing tasks close in meaning to a new one, for `possibleDuplicates` on create (never throws, bounded); `skipped` says why it could not check. */
  duplicates?: (input: {
    title: string;
    description?: string;
    projectId?: string;
  }) => Promise<{ items: ReadonlyArray<{ id: string; title: string; similarity: number }>; skipped?: string }>;
}>;
