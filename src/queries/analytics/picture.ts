import { unprocessable } from '../../errors.js';
import { computeCpm, isDone } from '../../algorithms/cpm.js';
import type { ProjectIndex } from './projectIndex.js';

/** The dependency graph of a project as one picture: its tasks, their dependencies and the critical path by CPM. */
export type PictureNode = {
  id: string;
  title: string;
  status: string;
  priority: string;
  estimate: number | null;
  /** Open and without slack: a slip of this task moves the project's end. */
  critical: boolean;
  slack: number;
};
export type PictureEdge = { from: string; to: string; kind: 'hard' | 'soft' };
export type ProjectPicture = { projectId: string; nodes: PictureNode[]; edges: PictureEdge[]; criticalPath: string[]; position: number };

/** Beyond this many tasks a picture is refused: nobody reads it, and its layout would hold the server for long. */
export const MAX_PICTURE_NODES = 5_000;

const round = (hours: number) => Math.round(hours * 1000) / 1000;

/** Edges point from a task to what it depends on (`from` waits on `to`), as `dependsOn` reads. */
export const projectPicture = (
  project: ProjectIndex,
  titles: ReadonlyMap<string, string>,
  opts: { defaultEstimate: number; position: number },
): ProjectPicture => {
  const { projectId, tasks } = project.graph;
  if (tasks.length > MAX_PICTURE_NODES) {
    throw unprocessable(
      'GRAPH_TOO_LARGE',
      `Project ${projectId} has ${tasks.length} tasks; a picture holds at most ${MAX_PICTURE_NODES}.`,
      { projectId, tasks: tasks.length, max: MAX_PICTURE_NODES },
      'Ask for a part instead: get_critical_path with rootTaskId, or graph_query for the tasks you need.',
    );
  }
  const cpm = computeCpm(tasks, project.graph.edges, { defaultEstimate: opts.defaultEstimate });
  // In creation order, whatever order the source gave: the same project always reads as the same text.
  const ordered = [...tasks].sort((a, b) => a.createdSeq - b.createdSeq);
  const rank = new Map(ordered.map((t, i) => [t.id, i]));
  const nodes = ordered.map((t): PictureNode => {
    const timing = cpm.timings.get(t.id)!;
    return {
      id: t.id,
      title: titles.get(t.id) ?? '',
      status: t.status,
      priority: t.priority,
      estimate: t.estimate,
      critical: timing.critical && !isDone(t.status),
      slack: round(timing.slack),
    };
  });
  const edges = project.graph.edges
    .filter((e) => rank.has(e.taskId) && rank.has(e.dependsOn))
    .map((e): PictureEdge => ({ from: e.taskId, to: e.dependsOn, kind: e.kind }))
    .sort((a, b) => rank.get(a.from)! - rank.get(b.from)! || rank.get(a.to)! - rank.get(b.to)!);
  return { projectId, nodes, edges, criticalPath: cpm.criticalChains[0] ?? [], position: opts.position };
};

// ─── Mermaid ────────────────────────────────────────────────────────────────────────────────────

/**
 * A title as Mermaid label text: letters, digits, spaces and plain punctuation as they are, anything else
 * (quotes, brackets, `<`, `#`, `;`, backticks) as Mermaid's `#code;` entity, so no title can end the label,
 * start markup or inject a directive. Line breaks become spaces.
 */
export const mermaidText = (text: string): string =>
  [...text.replace(/[\r\n\t]+/g, ' ')].map((ch) => (/^[\p{L}\p{N} .,:_/+-]$/u.test(ch) ? ch : `#${ch.codePointAt(0)};`)).join('');

/**
 * A Mermaid `flowchart` (left to right: what comes first on the left). Tasks are `t1`, `t2`, … in the order of the
 * answer, labelled with their title; a hard dependency is a solid arrow, a soft one dotted; critical tasks carry the
 * class `critical`, and the arrows of the critical path are drawn thick.
 */
export const toMermaid = (picture: ProjectPicture): string => {
  const key = new Map(picture.nodes.map((n, i) => [n.id, `t${i + 1}`]));
  const lines = ['flowchart LR'];
  for (const node of picture.nodes) lines.push(`  ${key.get(node.id)}["${mermaidText(node.title || node.id)}"]`);
  const onPath = new Set(picture.criticalPath.slice(1).map((id, i) => `${id}>${picture.criticalPath[i]}`));
  const thick: number[] = [];
  picture.edges.forEach((edge, i) => {
    // Drawn in the order of the work: the dependency first, then the task that waits on it.
    lines.push(`  ${key.get(edge.to)} ${edge.kind === 'hard' ? '-->' : '-.->'} ${key.get(edge.from)}`);
    if (onPath.has(`${edge.from}>${edge.to}`)) thick.push(i);
  });
  lines.push('  classDef critical stroke:#d62728,stroke-width:3px');
  const critical = picture.nodes.filter((n) => n.critical).map((n) => key.get(n.id));
  if (critical.length > 0) lines.push(`  class ${critical.join(',')} critical`);
  if (thick.length > 0) lines.push(`  linkStyle ${thick.join(',')} stroke:#d62728,stroke-width:3px`);
  return `${lines.join('\n')}\n`;
};

// ─── Graphviz DOT ───────────────────────────────────────────────────────────────────────────────

/** A DOT quoted string: backslash and quote escaped, line breaks as `\n` (Graphviz's own line break in labels). */
export const dotString = (text: string): string =>
  `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r?\n|\r/g, '\\n')}"`;

/** A Graphviz digraph with the same reading as the Mermaid picture; critical tasks and the critical path in red. */
export const toDot = (picture: ProjectPicture): string => {
  const lines = [`digraph ${dotString(picture.projectId)} {`, '  rankdir=LR;', '  node [shape=box, style="rounded"];'];
  for (const node of picture.nodes) {
    const style = node.critical ? ', color="#d62728", penwidth=2' : '';
    lines.push(`  ${dotString(node.id)} [label=${dotString(node.title || node.id)}${style}];`);
  }
  const onPath = new Set(picture.criticalPath.slice(1).map((id, i) => `${id}>${picture.criticalPath[i]}`));
  for (const edge of picture.edges) {
    const attrs = [
      ...(edge.kind === 'soft' ? ['style=dashed'] : []),
      ...(onPath.has(`${edge.from}>${edge.to}`) ? ['color="#d62728"', 'penwidth=2'] : []),
    ];
    lines.push(`  ${dotString(edge.to)} -> ${dotString(edge.from)}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
};
