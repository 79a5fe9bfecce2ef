import { DomainError } from '../errors.js';
import { auditState, type DiffAnswer } from '../queries/audit/asOf.js';
import type { TaskAsOf } from '../queries/audit/fold.js';
import type { AuditLog, LogPoint } from '../queries/audit/log.js';

/**
 * `vespera audit show TASK --at …` and `vespera audit diff --project P --from … --to …`: the state as of a point
 * and the diff between two, read from the event store directly (like `vespera stats`), so they also work beside
 * a running server. Human output by default, JSON with `--json`; exit 0, 1 when refused, 2 on a usage error.
 */

export type AuditCliOptions = { json?: boolean };

const USAGE_CODES = new Set(['INVALID_POINT', 'INVALID_CURSOR']);

const point = (p: LogPoint) => `position ${p.position}${p.time ? ` (${p.time})` : ' (before the first event)'}`;
const value = (v: unknown) => (v === undefined ? '–' : JSON.stringify(v));

const showTask = (t: TaskAsOf): string[] => [
  `  title:        ${t.title}`,
  `  status:       ${t.status}${t.ready ? ' (ready)' : ''}   priority: ${t.priority}   role: ${t.role ?? '–'}`,
  `  project:      ${t.projectId}   parent: ${t.parentId ?? '–'}   depth: ${t.depth}`,
  `  dependencies: ${t.dependencies.map((d) => `${d.dependsOn} (${d.kind})`).join(', ') || '–'}`,
  `  tags: ${t.tags.join(', ') || '–'}   estimate: ${t.estimate ?? '–'}   files: ${t.files.join(', ') || '–'}`,
  ...(t.claimedBy ? [`  claimed by:   ${t.claimedBy} until ${t.leaseExpiresAt}`] : []),
  `  version:      ${t.version}   created ${t.createdAt}   updated ${t.updatedAt}`,
];

const showDiff = (d: DiffAnswer): string[] => {
  const lines = [
    `Project ${d.projectId} from ${point(d.from)} to ${point(d.to)}: ${d.counts.created} created, ${d.counts.deleted} deleted, ${d.counts.changed} changed`,
  ];
  const sign = { created: '+', deleted: '-', changed: '~' } as const;
  for (const item of d.items) {
    lines.push(`${sign[item.change]} ${item.taskId}  ${item.title}`);
    for (const c of item.changes) lines.push(`    ${c.field}: ${value(c.before)} → ${value(c.after)}`);
    for (const e of item.dependencies.added) lines.push(`    dependency added: ${e.dependsOn} (${e.kind})`);
    for (const e of item.dependencies.removed) lines.push(`    dependency removed: ${e.dependsOn} (${e.kind})`);
    for (const e of item.dependencies.kindChanged) lines.push(`    dependency on ${e.dependsOn}: ${e.before} → ${e.after}`);
  }
  return lines;
};

const refused = (error: unknown): number => {
  if (!(error instanceof DomainError)) throw error;
  process.stderr.write(`${error.code}: ${error.message}\n`);
  return USAGE_CODES.has(error.code) ? 2 : 1;
};

export const auditShowCommand = async (log: AuditLog, taskId: string, opts: AuditCliOptions & { at?: string }): Promise<number> => {
  try {
    const answer = await auditState(log).getTaskAsOf(taskId, opts.at);
    const text = opts.json ? JSON.stringify(answer, null, 2) : [`Task ${taskId} as of ${point(answer.asOf)}`, ...showTask(answer.task)].join('\n');
    process.stdout.write(`${text}\n`);
    return 0;
  } catch (error) {
    return refused(error);
  }
};

export const auditDiffCommand = async (log: AuditLog, opts: AuditCliOptions & { project?: string; from?: string; to?: string }): Promise<number> => {
  if (!opts.project) {
    process.stderr.write('usage: vespera audit diff --project P [--from POINT] [--to POINT] [--json]\n');
    return 2;
  }
  try {
    const audit = auditState(log);
    let answer = await audit.diffProject(opts.project, opts.from, opts.to, { limit: 500 });
    // Later pages name the positions the first one resolved, so a log that grows meanwhile cannot shift them.
    const [from, to] = [String(answer.from.position), String(answer.to.position)];
    for (let cursor = answer.nextCursor; cursor;) {
      const page = await audit.diffProject(opts.project, from, to, { limit: 500, cursor });
      answer = { ...answer, items: [...answer.items, ...page.items] };
      cursor = page.nextCursor;
    }
    const { nextCursor: _next, ...whole } = answer;
    process.stdout.write(`${opts.json ? JSON.stringify(whole, null, 2) : showDiff(answer).join('\n')}\n`);
    return 0;
  } catch (error) {
    return refused(error);
  }
};
