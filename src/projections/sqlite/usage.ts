import type Database from 'better-sqlite3';
import type { ProjectEvent, Usage } from '../../events/project.js';

/**
 * Usage accounting in the read model: one row per report (a heartbeat or completion that carried `usage`) and one per
 * finished stretch of work (claim → completion, release or lease expiry, its seconds taken from the events' times).
 * Totals per task, agent, role and project are sums over these rows, so a rebuild from the log gives the same answer.
 */
export const USAGE_DDL = `
CREATE TABLE IF NOT EXISTS usage_reports (
  position      INTEGER PRIMARY KEY,
  project_id    TEXT NOT NULL,
  task_id       TEXT NOT NULL,
  agent         TEXT NOT NULL,
  role          TEXT,
  model         TEXT,
  input_tokens  INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_usd      REAL NOT NULL,
  seconds       REAL NOT NULL,
  at            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_reports_project ON usage_reports (project_id, task_id);
CREATE TABLE IF NOT EXISTS usage_open_claims (
  task_id    TEXT PRIMARY KEY,
  claimed_at TEXT NOT NULL
);
`;

/** Applies the usage side of one project event (the task row already holds the role the work is counted under). */
export const usageProjection = (db: Database.Database) => {
  const insert = db.prepare(
    `INSERT OR REPLACE INTO usage_reports (position, project_id, task_id, agent, role, model, input_tokens, output_tokens, cost_usd, seconds, at)
     VALUES (@position, @projectId, @taskId, @agent, (SELECT role FROM tasks WHERE id = @taskId), @model, @inputTokens, @outputTokens, @costUsd, @seconds, @at)`,
  );
  const open = db.prepare('INSERT OR REPLACE INTO usage_open_claims (task_id, claimed_at) VALUES (?, ?)');
  const openedAt = db.prepare<[string], { claimed_at: string }>('SELECT claimed_at FROM usage_open_claims WHERE task_id = ?');
  const close = db.prepare('DELETE FROM usage_open_claims WHERE task_id = ?');

  const record = (
    position: number,
    e: { projectId: string; taskId: string; agent: string },
    at: string,
    usage: Usage | undefined,
    seconds: number,
  ) => {
    if (!usage && seconds === 0) return;
    insert.run({
      position,
      projectId: e.projectId,
      taskId: e.taskId,
      agent: e.agent,
      model: usage?.model ?? null,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      costUsd: usage?.costUsd ?? 0,
      seconds,
      at,
    });
  };
  /** Seconds since the open claim of the task (0 when none is open), and the claim closed. */
  const finish = (taskId: string, at: string): number => {
    const row = openedAt.get(taskId);
    close.run(taskId);
    return row ? Math.max(0, (Date.parse(at) - Date.parse(row.claimed_at)) / 1000) : 0;
  };

  return (position: number, e: ProjectEvent): void => {
    switch (e.type) {
      case 'TaskClaimed':
        open.run(e.data.taskId, e.data.claimedAt);
        return;
      case 'LeaseExtended':
        record(position, e.data, e.data.extendedAt, e.data.usage, 0);
        return;
      case 'TaskReleased':
        record(position, e.data, e.data.releasedAt, undefined, finish(e.data.taskId, e.data.releasedAt));
        return;
      case 'LeaseExpired':
        record(position, e.data, e.data.expiredAt, undefined, finish(e.data.taskId, e.data.expiredAt));
        return;
      case 'TaskCompleted':
        record(position, e.data, e.data.completedAt, e.data.usage, finish(e.data.taskId, e.data.completedAt));
        return;
      case 'TaskDeleted':
        close.run(e.data.taskId);
        return;
      default:
        return;
    }
  };
};
