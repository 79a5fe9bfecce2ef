import { computeCpm, isDone } from '../../algorithms/cpm.js';
import { rankBottlenecks } from './bottlenecks.js';
import { openChainLengths } from './chains.js';
import type { ProjectIndex } from './projectIndex.js';

/**
 * What to do next in a project and why, from its dependency graph and CPM schedule. Each rule adds candidates;
 * a task keeps its best one. In order of weight:
 * 1. `start` a ready task on the critical path (every hour it waits moves the project end);
 * 2. `unblock`: finish an open task that many open tasks wait on (in progress or ready), longest chains first;
 * 3. `estimate` an open critical task that has none (the plan's end is a guess until it has one);
 * 4. `start` any other ready task, least slack first.
 * A recommendation names the task's role (null: any role may take it); claim_next_task still checks the role fits.
 */

export type RecommendationAction = 'start' | 'unblock' | 'estimate';
export type Recommendation = {
  action: RecommendationAction;
  taskId: string;
  title: string;
  role: string | null;
  status: string;
  priority: string;
  reason: string;
  score: number;
};

const PRIORITY = { low: 0, normal: 1, high: 2, critical: 3 } as Readonly<Record<string, number>>;
const round = (n: number) => Math.round(n * 1000) / 1000;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const recommend = (
  project: ProjectIndex,
  titles: ReadonlyMap<string, string>,
  opts: { defaultEstimate: number; role?: string; limit: number },
): { projectId: string; role: string | null; items: Recommendation[] } => {
  const cpm = computeCpm(project.tasks, project.graph.edges, { defaultEstimate: opts.defaultEstimate });
  const open = (i: number) => !isDone(project.task(i).status);
  const ready = (i: number) =>
    project.task(i).status === 'pending' && project.deps[i]!.every((s) => !s.hard || project.task(s.to).status === 'completed');
  const waitingOn = new Map(rankBottlenecks(project, project.tasks.length).items.map((b) => [b.id, b.waiting]));
  const below = openChainLengths(project, 'below');
  const best = new Map<string, Recommendation>();
  const offer = (i: number, action: RecommendationAction, score: number, reason: string) => {
    const t = project.task(i);
    if (opts.role !== undefined && t.role !== null && t.role !== opts.role) return;
    const previous = best.get(t.id);
    if (previous && previous.score >= score) return;
    best.set(t.id, {
      action,
      taskId: t.id,
      title: titles.get(t.id) ?? '',
      role: t.role,
      status: t.status,
      priority: t.priority,
      reason,
      score: round(score),
    });
  };

  project.tasks.forEach((t, i) => {
    if (!open(i)) return;
    const timing = cpm.timings.get(t.id)!;
    const rank = PRIORITY[t.priority] ?? 1;
    const waiting = waitingOn.get(t.id) ?? 0;
    if (ready(i) && timing.critical) {
      offer(
        i,
        'start',
        1000 + 10 * rank + waiting,
        `Ready and on the critical path (no slack): every hour it waits moves the project end by an hour${waiting > 0 ? `; ${plural(waiting, 'open task')} wait on it` : ''}.`,
      );
    }
    if ((ready(i) || t.status === 'in_progress') && waiting >= 2) {
      const longest = below[i]!;
      offer(
        i,
        'unblock',
        500 + waiting * 5 + longest + rank,
        `${plural(waiting, 'open task')} wait on it (a chain of ${plural(longest, 'step')} behind it)${t.status === 'in_progress' ? ': it is in progress, help finish it' : ': finishing it unblocks them'}.`,
      );
    }
    if (timing.critical && t.estimate === null) {
      offer(
        i,
        'estimate',
        300 + rank,
        `On the critical path without an estimate: the plan assumes ${opts.defaultEstimate} h, so the project end is a guess until it has one.`,
      );
    }
    if (ready(i) && !timing.critical) {
      offer(
        i,
        'start',
        100 + 10 * rank - Math.min(timing.slack, 99),
        `Ready, with ${round(timing.slack)} h of slack${rank >= 2 ? ` and ${t.priority} priority` : ''}.`,
      );
    }
  });

  const items = [...best.values()].sort((a, b) => b.score - a.score || a.taskId.localeCompare(b.taskId)).slice(0, opts.limit);
  return { projectId: project.graph.projectId, role: opts.role ?? null, items };
};
