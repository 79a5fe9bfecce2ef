import type Database from 'better-sqlite3';
import type { ProjectCommands } from '../../commands/project/commands.js';

/** What the task and project operations need, built once in app.ts. */
export type CatalogDeps = Readonly<{
  commands: ProjectCommands;
  readDb: Database.Database;
  /** Resolves once the SQLite read model has applied `position` (bounded wait). */
  waitForReadModel: (position: number) => Promise<void>;
  /** Existing tasks close in meaning to a new one, for `possibleDuplicates` on create (never throws). */
  /** Critical-path length, ready tasks per role and top bottlenecks of a project, for its dashboard. */
  dashboardExtras?: (projectId: string) => Record<string, unknown>;
  duplicates?: (input: { title: string; description?: string; projectId?: string }) => Promise<ReadonlyArray<{ id: string }>>;
}>;
