/** How the task commands of the CLI (tasksCli.ts) print REST answers for a person: tables, and one task as fields. */

export type Task = {
  id: string;
  projectId: string;
  parentId: string | null;
  title: string;
  description?: string;
  status: string;
  priority: string;
  role?: string | null;
  tags?: string[];
  estimate?: number | null;
  files?: string[];
  requiredCapabilities?: string[];
  ready?: boolean;
  openDependencies?: number;
  claimedBy?: string | null;
  leaseExpiresAt?: string | null;
  statusNote?: { note: string; at: string } | null;
  result?: Record<string, unknown> | null;
  version: number;
  createdAt?: string;
  updatedAt?: string;
  links?: Array<{ kind: string; taskId: string; direction: 'out' | 'in' }>;
};
export type Page = { items: Task[]; nextCursor: string | null };
export type SearchAnswer = { mode: string; items: Array<Task & { score: number }>; nextCursor: string | null; degraded: boolean; reason?: string };
type Totals = { inputTokens: number; outputTokens: number; costUsd: number; seconds: number; reports: number };
export type UsageAnswer = { projectId: string; totals: Totals; by: string; items: Array<Totals & { key: string | null }>; nextCursor: string | null };

/** What a command prints: the table on stdout, the count and the next page's flag on stderr. */
export type Printed = { text: string; note?: string };

/** Columns padded to their widest cell; the last one is left as long as it is. */
export const table = (headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
};

const count = (n: number, noun: string, nextCursor: string | null, plural = `${noun}s`) =>
  `${n} ${n === 1 ? noun : plural}${nextCursor ? ` (more: --cursor ${nextCursor})` : ''}.`;
const estimate = (hours: number | null | undefined) => (hours === null || hours === undefined ? '' : `${hours}h`);

export const taskTable = (page: Page, kind: 'ready' | 'list'): Printed => {
  const rows = page.items.map((t) =>
    kind === 'ready'
      ? [t.id, t.priority, t.projectId, t.role ?? '', estimate(t.estimate), t.title]
      : [t.id, t.status, t.priority, t.projectId, t.ready ? 'yes' : '', t.title],
  );
  const headers =
    kind === 'ready' ? ['ID', 'PRIORITY', 'PROJECT', 'ROLE', 'EST', 'TITLE'] : ['ID', 'STATUS', 'PRIORITY', 'PROJECT', 'READY', 'TITLE'];
  return {
    text: rows.length === 0 ? '' : table(headers, rows),
    note: count(rows.length, kind === 'ready' ? 'ready task' : 'task', page.nextCursor),
  };
};

/** One task, field by field; empty fields are left out. */
export const taskLines = (t: Task): string => {
  const fields: Array<[string, string | undefined]> = [
    ['id', t.id],
    ['title', t.title],
    [
      'status',
      `${t.status}${t.ready ? ' (ready)' : t.openDependencies ? ` (waits for ${t.openDependencies} open dependenc${t.openDependencies === 1 ? 'y' : 'ies'})` : ''}`,
    ],
    ['priority', t.priority],
    ['project', t.projectId],
    ['parent', t.parentId ?? undefined],
    ['role', t.role ?? undefined],
    ['estimate', estimate(t.estimate) || undefined],
    ['tags', t.tags?.join(', ') || undefined],
    ['files', t.files?.join(', ') || undefined],
    ['needs', t.requiredCapabilities?.join(', ') || undefined],
    ['claimed by', t.claimedBy ? `${t.claimedBy}${t.leaseExpiresAt ? ` until ${t.leaseExpiresAt}` : ''}` : undefined],
    ['note', t.statusNote ? `${t.statusNote.note} (${t.statusNote.at})` : undefined],
    ['links', t.links?.map((l) => (l.direction === 'out' ? `${l.kind} → ${l.taskId}` : `${l.kind} ← ${l.taskId}`)).join(', ') || undefined],
    ['version', String(t.version)],
    ['created', t.createdAt],
    ['updated', t.updatedAt],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  const lines = shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`);
  if (t.description) lines.push('', t.description);
  const output = t.result && typeof t.result.output === 'string' ? t.result.output : undefined;
  if (output) lines.push('', 'output:', output);
  return lines.join('\n');
};

export const searchTable = (answer: SearchAnswer): Printed => {
  const rows = answer.items.map((t) => [t.score.toFixed(3), t.id, t.status, t.projectId, t.title]);
  const degraded = answer.degraded ? ` Degraded${answer.reason ? `: ${answer.reason}` : ''}.` : '';
  return {
    text: rows.length === 0 ? '' : table(['SCORE', 'ID', 'STATUS', 'PROJECT', 'TITLE'], rows),
    note: `${count(rows.length, 'match', answer.nextCursor, 'matches')}${degraded}`,
  };
};

export const usageTable = (answer: UsageAnswer): Printed => {
  const cells = (u: Totals) => [String(u.inputTokens), String(u.outputTokens), u.costUsd.toFixed(4), u.seconds.toFixed(0), String(u.reports)];
  const rows = [...answer.items.map((u) => [u.key ?? '(none)', ...cells(u)]), ['TOTAL', ...cells(answer.totals)]];
  return {
    text: table([answer.by.toUpperCase(), 'INPUT TOKENS', 'OUTPUT TOKENS', 'COST USD', 'SECONDS', 'REPORTS'], rows),
    note: answer.nextCursor ? `More rows: --cursor ${answer.nextCursor}.` : undefined,
  };
};
