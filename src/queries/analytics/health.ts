import type Database from 'better-sqlite3';
import { computeCpm, isDone, type CpmEdge, type CpmTask } from '../../algorithms/cpm.js';
import { projectStreamId } from '../../events/project.js';
import { emptyFold, foldEvents } from '../audit/fold.js';
import { resolvePoint, type AuditLog } from '../audit/log.js';
import { prepared } from '../prepared.js';
import { openChainLengths, rootBlockers } from './chains.js';
import type { ProjectIndex } from './projectIndex.js';

/**
 * A project's health, each finding defined once (docs/graph.md#project-health):
 * * stale claim: an in-progress task whose lease is still live but whose last event (claim, heartbeat, note,
 *   update…) is older than `staleAfterMinutes`: someone holds it and nothing is heard;
 * * expired lease: a claimed task whose lease ran out and that the lease sweep has not returned to the queue yet;
 * * blocked chain: an open task that cannot start, blocked since the oldest still-open hard dependency it waits on
 *   was added (or, for status `blocked`, since it was set), with the open tasks at the top of its chain;
 * * critical without estimate: an open task on the critical path that has no estimate (the plan assumes the default);
 * * slack used: open tasks whose CPM slack is smaller now than it was `sinceHours` ago (folded from the log).
 */

const HOUR = 3_600_000;
const BATCH = 5000;
const round = (n: number) => Math.round(n * 1000) / 1000;
const hoursBetween = (from: string, to: string) => round((Date.parse(to) - Date.parse(from)) / HOUR);

type ClaimRow = { id: string; title: string; claimed_by: string; role: string | null; lease_expires_at: string | null; last_at: string | null };
type BlockedRow = { id: string; title: string; status: string; waiting_since: string | null; status_at: string | null; created_at: string };

export type HealthDeps = Readonly<{ db: Database.Database; log: AuditLog; defaultEstimate: number }>;

export type HealthOptions = Readonly<{ now: string; staleAfterMinutes: number; sinceHours: number; limit: number }>;

const claimed = (db: Database.Database, projectId: string) =>
  prepared<[string]>(
    db,
    `SELECT t.id, t.title, t.claimed_by, t.role, t.lease_expires_at,
       (SELECT max(h.at) FROM task_history h WHERE h.task_id = t.id) AS last_at
     FROM tasks t WHERE t.project_id = ? AND t.claimed_by IS NOT NULL ORDER BY t.seq`,
  ).all(projectId) as ClaimRow[];

const blocked = (db: Database.Database, projectId: string) =>
  prepared<[string]>(
    db,
    `SELECT t.id, t.title, t.status, t.created_at,
       (SELECT min(d.created_at) FROM dependencies d JOIN tasks o ON o.id = d.depends_on
         WHERE d.task_id = t.id AND d.kind = 'hard' AND o.status <> 'completed') AS waiting_since,
       (SELECT max(h.at) FROM task_history h WHERE h.task_id = t.id AND h.event_type = 'TaskStatusChanged') AS status_at
     FROM tasks t WHERE t.project_id = ? AND t.status NOT IN ('completed', 'cancelled')
       AND (t.status = 'blocked' OR t.open_hard_deps > 0) ORDER BY t.seq`,
  ).all(projectId) as BlockedRow[];

const titlesOf = (db: Database.Database, projectId: string) =>
  new Map(prepared<[string]>(db, 'SELECT id, title FROM tasks WHERE project_id = ?').raw(true).all(projectId) as [string, string][]);

/** CPM slack of every open task of the project as the log had it at `time`; null before the project existed. */
const slackAsOf = async (
  log: AuditLog,
  projectId: string,
  time: string,
  defaultEstimate: number,
): Promise<{ position: number; slack: Map<string, number> } | null> => {
  const point = await resolvePoint(log, { time });
  if (point.position === 0) return null;
  let fold = emptyFold(projectId);
  for (;;) {
    const events = await log.readStream(projectStreamId(projectId), { fromRevision: fold.revision + 1, maxCount: BATCH });
    fold = foldEvents(fold, events, point.position);
    if (events.length < BATCH || events.at(-1)!.position > point.position) break;
  }
  if (!fold.exists) return null;
  const tasks: CpmTask[] = [];
  const edges: CpmEdge[] = [];
  for (const t of fold.tasks.values()) {
    tasks.push({ id: t.id, estimate: t.estimate ?? null, status: t.status });
    for (const [dependsOn, kind] of t.deps) edges.push({ taskId: t.id, dependsOn, kind });
  }
  const cpm = computeCpm(tasks, edges, { defaultEstimate });
  const slack = new Map<string, number>();
  for (const t of tasks) if (!isDone(t.status)) slack.set(t.id, cpm.timings.get(t.id)!.slack);
  return { position: point.position, slack };
};

export const projectHealth = async (deps: HealthDeps, project: ProjectIndex, opts: HealthOptions) => {
  const { projectId } = project.graph;
  const { now, limit } = opts;
  const titles = titlesOf(deps.db, projectId);
  const title = (id: string) => titles.get(id) ?? '';
  const claims = claimed(deps.db, projectId);
  const staleBefore = new Date(Date.parse(now) - opts.staleAfterMinutes * 60_000).toISOString();

  const expired = claims
    .filter((c) => c.lease_expires_at !== null && c.lease_expires_at <= now)
    .map((c) => ({
      taskId: c.id,
      title: c.title,
      agent: c.claimed_by,
      role: c.role,
      leaseExpiresAt: c.lease_expires_at!,
      overdueMinutes: round(hoursBetween(c.lease_expires_at!, now) * 60),
    }));
  const stale = claims
    .filter((c) => c.lease_expires_at !== null && c.lease_expires_at > now && c.last_at !== null && c.last_at < staleBefore)
    .map((c) => ({
      taskId: c.id,
      title: c.title,
      agent: c.claimed_by,
      role: c.role,
      lastActivityAt: c.last_at!,
      idleMinutes: round(hoursBetween(c.last_at!, now) * 60),
      leaseExpiresAt: c.lease_expires_at!,
    }))
    .sort((a, b) => b.idleMinutes - a.idleMinutes);

  const above = openChainLengths(project, 'above');
  const chains = blocked(deps.db, projectId)
    .map((row) => {
      const at = project.index.get(row.id);
      const since = row.status === 'blocked' ? (row.status_at ?? row.created_at) : (row.waiting_since ?? row.created_at);
      const waitingOn =
        at === undefined ? [] : project.deps[at]!.filter((s) => s.hard && !isDone(project.task(s.to).status)).map((s) => project.task(s.to).id);
      return {
        at,
        taskId: row.id,
        title: row.title,
        status: row.status,
        blockedSince: since,
        blockedHours: hoursBetween(since, now),
        waitingOn,
        chainLength: at === undefined ? 0 : above[at]!,
      };
    })
    .sort((a, b) => (a.blockedSince < b.blockedSince ? -1 : a.blockedSince > b.blockedSince ? 1 : b.chainLength - a.chainLength));
  // The tops of a chain cost a walk each: only for the chains answered.
  const chainItems = chains.slice(0, limit).map(({ at, ...chain }) => ({
    ...chain,
    rootBlockers: at === undefined ? [] : rootBlockers(project, at).map((i) => project.task(i).id),
  }));

  const cpm = computeCpm(project.tasks, project.graph.edges, { defaultEstimate: deps.defaultEstimate });
  const unestimated = project.tasks
    .filter((t) => !isDone(t.status) && t.estimate === null && cpm.timings.get(t.id)!.critical)
    .map((t) => ({ taskId: t.id, title: title(t.id), assumedHours: deps.defaultEstimate }));

  const since = new Date(Date.parse(now) - opts.sinceHours * HOUR).toISOString();
  const then = await slackAsOf(deps.log, projectId, since, deps.defaultEstimate);
  const used = !then
    ? []
    : project.tasks
        .filter((t) => !isDone(t.status) && then.slack.has(t.id))
        .map((t) => ({ taskId: t.id, title: title(t.id), slackBefore: round(then.slack.get(t.id)!), slackNow: round(cpm.timings.get(t.id)!.slack) }))
        .map((row) => ({ ...row, used: round(row.slackBefore - row.slackNow) }))
        .filter((row) => row.used > 0)
        .sort((a, b) => b.used - a.used);

  const page = <T>(items: T[]) => ({ count: items.length, items: items.slice(0, limit) });
  return {
    projectId,
    at: now,
    staleClaims: { staleAfterMinutes: opts.staleAfterMinutes, ...page(stale) },
    expiredLeases: page(expired),
    blockedChains: { count: chains.length, items: chainItems },
    criticalWithoutEstimate: page(unestimated),
    slackUsed: { since, sincePosition: then?.position ?? 0, ...page(used) },
  };
};

export type ProjectHealth = Awaited<ReturnType<typeof projectHealth>>;
