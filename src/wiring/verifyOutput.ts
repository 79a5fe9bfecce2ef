import type { Difference } from '../projections/graph/verify.js';
import type { TableDiff } from '../projections/sqlite/verify.js';
import type { VerifyReport } from './verify.js';

const show = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? '(none)' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};
const keyText = (key: Record<string, unknown>) =>
  Object.entries(key)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

const table = (headers: string[], rows: string[][]): string[] => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)];
};

const sqliteLines = (tables: readonly TableDiff[]): string[] => {
  const rows = tables.map((t) => [t.table, t.liveRows, t.rebuiltRows, t.onlyLive, t.onlyRebuilt, t.differing].map(String));
  const lines = table(['table', 'live', 'rebuilt', 'only live', 'only rebuilt', 'differing'], rows).map((l) => `  ${l}`);
  for (const t of tables) {
    if (t.columns) lines.push(`  ${t.table}: columns differ (live: ${t.columns.live.join(', ')}; rebuilt: ${t.columns.rebuilt.join(', ')})`);
    for (const e of t.examples) {
      if (e.kind === 'differing')
        lines.push(
          `  ${t.table} ${keyText(e.key)}: ${e.columns.map((c) => `${c.column} live ${show(c.live)}, rebuilt ${show(c.rebuilt)}`).join('; ')}`,
        );
      else lines.push(`  ${t.table} ${keyText(e.key)}: only in the ${e.kind === 'onlyLive' ? 'live model' : 'rebuilt model'}`);
    }
  }
  return lines;
};

const graphRow = (name: string, d: Difference<unknown>) => [name, d.live, d.expected, d.missing, d.extra, d.differing].map(String);

/** The report as an administrator reads it: one table per model, then the first differences. */
export const printVerifyReport = (report: VerifyReport, print: (line: string) => void): void => {
  for (const model of report.models) {
    print(
      `${model.model} at position ${model.position}: ${model.equal ? 'equal to its rebuild from the log' : 'DIFFERS from its rebuild from the log'} (${model.seconds} s)`,
    );
    if ('note' in model && model.note) print(`  ${model.note}`);
    if (model.model === 'sqlite') {
      for (const line of sqliteLines(model.tables)) print(line);
      continue;
    }
    if (model.model === 'vectors') {
      const row = [model.live, model.expected, model.missing, model.extra, model.stale, model.skipped].map(String);
      for (const line of table(['', 'live', 'expected', 'missing', 'extra', 'stale', 'changed since'], [['vectors', ...row]])) print(`  ${line}`);
      for (const e of model.examples) print(`  vector of ${e.taskId} (project ${e.projectId}): ${e.kind}`);
      continue;
    }
    const headers = ['', 'live', 'expected', 'missing', 'extra', 'differing'];
    const rows = [
      graphRow('nodes', model.nodes),
      graphRow('edges', model.edges),
      graphRow('tree links', model.children),
      graphRow('typed links', model.links),
    ];
    for (const line of table(headers, rows)) print(`  ${line}`);
    for (const e of model.nodes.examples) {
      if (e.kind === 'differing')
        print(`  node ${e.id}: ${e.fields.map((f) => `${f.field} live ${show(f.live)}, expected ${show(f.expected)}`).join('; ')}`);
      else print(`  node ${e.id}: ${e.kind === 'missing' ? 'missing from the live graph' : 'in the live graph only'}`);
    }
    for (const e of model.edges.examples)
      print(`  edge ${e.taskId} -> ${e.dependsOn}: ${e.kind}${e.kind === 'differing' ? ` (live ${e.live}, expected ${e.expected})` : ''}`);
    for (const e of model.children.examples) print(`  tree link ${e.taskId} under ${e.parentId}: ${e.kind}`);
    for (const e of model.links.examples) print(`  typed link ${e.taskId} ${e.linkKind} ${e.target}: ${e.kind}`);
  }
  print(report.equal ? 'Every read model verified equal.' : 'Some read models differ from the log: `vespera rebuild` rebuilds them.');
};
