import { computeCpm, type CpmEdge, type CpmTask } from './cpm.js';

export type TaskShift = { id: string; shift: number; slackBefore: number };
export type SlipImpact = {
  taskId: string;
  hours: number;
  /** How much of the slip the task's own slack absorbs. */
  absorbed: number;
  durationBefore: number;
  durationAfter: number;
  projectEndMoves: boolean;
  /** Tasks (other than the slipping one) whose earliest finish moves, largest shift first. */
  moved: TaskShift[];
  movedCount: number;
};

const EPSILON = 1e-9;

/**
 * "If `taskId` takes `hours` more": the schedule is computed twice (as is and with the longer task) and
 * compared. Pure, like computeCpm.
 */
export const slipImpact = (
  tasks: readonly CpmTask[],
  edges: readonly CpmEdge[],
  taskId: string,
  hours: number,
  opts: { defaultEstimate: number; limit?: number },
): SlipImpact => {
  const before = computeCpm(tasks, edges, opts);
  const subject = before.timings.get(taskId);
  if (!subject) throw new Error(`slipImpact: task ${taskId} is not in the schedule`);
  const longer = tasks.map((t) => (t.id === taskId ? { ...t, estimate: subject.duration + hours, status: 'pending' } : t));
  const after = computeCpm(longer, edges, opts);
  const moved: TaskShift[] = [];
  for (const [id, timing] of after.timings) {
    if (id === taskId) continue;
    const was = before.timings.get(id)!;
    const shift = timing.earliestFinish - was.earliestFinish;
    if (shift > EPSILON) moved.push({ id, shift, slackBefore: was.slack });
  }
  moved.sort((a, b) => b.shift - a.shift || (a.id < b.id ? -1 : 1));
  const delay = after.duration - before.duration;
  return {
    taskId,
    hours,
    absorbed: Math.min(hours, subject.slack),
    durationBefore: before.duration,
    durationAfter: after.duration,
    projectEndMoves: delay > EPSILON,
    moved: moved.slice(0, opts.limit ?? moved.length),
    movedCount: moved.length,
  };
};
