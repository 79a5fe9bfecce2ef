import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { getProject } from './projects.js';

/** Sums of reported usage and of time in progress (seconds from claim to completion, release or expiry). */
export type UsageTotals = { inputTokens: number; outputTokens: number; costUsd: number; seconds: number; reports: number };
export type UsageGroup = 'task' | 'agent' | 'role' | 'model';
export const USAGE_GROUPS: readonly UsageGroup[] = ['task', 'agent', 'role', 'model'];
export type UsageAnswer = {
  projectId: string;
  totals: UsageTotals;
  by: UsageGroup;
  /** One row per task, agent, role or model (`key` null: no role or no model reported), ordered by key. */
  items: Array<{ key: string | null } & UsageTotals>;
  nextCursor: string | null;
};

/** The grouping column of each breakdown: a fixed map, never built from input. */
const GROUP_COLUMN: Record<UsageGroup, string> = { task: 'task_id', agent: 'agent', role: 'role', model: 'model' };

type TotalsRow = { input_tokens: number; output_tokens: number; cost_usd: number; seconds: number; reports: number };
const SUMS =
  'COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, COALESCE(SUM(cost_usd), 0) AS cost_usd, ' +
  'COALESCE(SUM(seconds), 0) AS seconds, COUNT(*) AS reports';

/** Cost is summed in floating point: rounded to micro-dollars so equal sums compare equal. */
const toTotals = (row: TotalsRow): UsageTotals => ({
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  costUsd: Math.round(row.cost_usd * 1e6) / 1e6,
  seconds: Math.round(row.seconds * 1000) / 1000,
  reports: row.reports,
});

export const usageTotals = (db: Database.Database, projectId?: string): UsageTotals =>
  toTotals(
    projectId === undefined
      ? prepared<[], TotalsRow>(db, `SELECT ${SUMS} FROM usage_reports`).get()!
      : prepared<[string], TotalsRow>(db, `SELECT ${SUMS} FROM usage_reports WHERE project_id = ?`).get(projectId)!,
  );

/** Totals per project (one row per project that reported anything), for /metrics: labelled by project, a low cardinality. */
export const usageByProject = (db: Database.Database): Array<{ projectId: string } & UsageTotals> =>
  prepared<[], TotalsRow & { project_id: string }>(db, `SELECT project_id, ${SUMS} FROM usage_reports GROUP BY project_id ORDER BY project_id`)
    .all()
    .map((row) => ({ projectId: row.project_id, ...toTotals(row) }));

/** A project's usage totals and one page of its breakdown by task, agent, role or model. */
export const getUsage = (db: Database.Database, projectId: string, opts: { by?: UsageGroup; limit?: number; cursor?: string } = {}): UsageAnswer => {
  getProject(db, projectId);
  const by = opts.by ?? 'task';
  const limit = opts.limit ?? 50;
  const column = GROUP_COLUMN[by];
  // Null keys (no role, no model) sort first as ''; the cursor holds the last key of the page.
  const after = opts.cursor === undefined ? null : String(decodeCursor(opts.cursor, 1)[0]);
  const rows = prepared<[string, string | null, string | null, number], TotalsRow & { key: string | null }>(
    db,
    `SELECT ${column} AS key, ${SUMS} FROM usage_reports WHERE project_id = ?
     GROUP BY ${column} HAVING ? IS NULL OR COALESCE(${column}, '') > ? ORDER BY COALESCE(${column}, '') LIMIT ?`,
  ).all(projectId, after, after, limit + 1);
  const page = rows.slice(0, limit);
  return {
    projectId,
    totals: usageTotals(db, projectId),
    by,
    items: page.map((row) => ({ key: row.key, ...toTotals(row) })),
    nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.key ?? '']) : null,
  };
};
