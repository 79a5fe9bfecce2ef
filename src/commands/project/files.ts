import { unprocessable } from '../../errors.js';
import type { FileConflict } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import { overlappingFiles, patternsOverlap } from '../roles/globOverlap.js';
import { requireProject } from './guards.js';
import { agentKey, type ProjectState, type TaskNode } from './project.js';
import type { Rule } from './rule.js';

/**
 * Files reserved in a project: an active claim reserves its task's `files`, an advisory mark the files it names.
 * Another agent's claim of a task whose files overlap them (globOverlap.ts) is skipped by claim_next_task and
 * refused for an explicit claim unless forced.
 */

export type Reservation = Readonly<{
  key: string;
  holder: string;
  holderActor: string;
  taskId: string | null;
  files: readonly string[];
  until: string | null;
}>;

/** Tasks this agent (of this plugin) holds under a live lease at `now`: the leased set, not every task. */
export const leasesHeldBy = (state: ProjectState, actor: string, agent: string, now: string): TaskNode[] => {
  const held: TaskNode[] = [];
  for (const id of state.leased) {
    const task = state.tasks.get(id);
    const lease = task?.lease;
    if (task && lease && lease.expiresAt > now && lease.holder === actor && lease.agent === agent) held.push(task);
  }
  return held;
};

/** Live claims with files, then live marks, as they stand at `now`. */
export const reservations = (state: ProjectState, now: string): Reservation[] => {
  const out: Reservation[] = [];
  const leaseEnds = new Map<string, string>();
  // The agents' lease ends matter only to marks that last with the lease; without marks a lease without files is skipped.
  const marked = state.marks.size > 0;
  for (const id of state.leased) {
    const task = state.tasks.get(id);
    const lease = task?.lease;
    if (!task || !lease || lease.expiresAt <= now || (!marked && task.fields.files.length === 0)) continue;
    const key = agentKey(lease.holder, lease.agent);
    if (marked && (leaseEnds.get(key) ?? '') < lease.expiresAt) leaseEnds.set(key, lease.expiresAt);
    if (task.fields.files.length > 0)
      out.push({ key, holder: lease.agent, holderActor: lease.holder, taskId: task.id, files: task.fields.files, until: lease.expiresAt });
  }
  for (const [key, marks] of state.marks) {
    const [holderActor = '', holder = ''] = key.split('\0');
    const live = [...marks].filter(([, mark]) => (mark.expiresAt === null ? leaseEnds.has(key) : mark.expiresAt > now));
    if (live.length > 0) {
      const until = live.every(([, mark]) => mark.expiresAt !== null)
        ? live
            .map(([, mark]) => mark.expiresAt!)
            .sort()
            .at(-1)!
        : null;
      out.push({ key, holder, holderActor, taskId: null, files: live.map(([file]) => file), until: until ?? leaseEnds.get(key) ?? null });
    }
  }
  return out;
};

/** What of `files` other agents hold, one entry per holding claim or mark. */
export const fileConflicts = (
  held: readonly Reservation[],
  taskId: string,
  files: readonly string[],
  actor: string,
  agent: string,
): FileConflict[] => {
  if (files.length === 0 || held.length === 0) return [];
  const mine = agentKey(actor, agent);
  // Plain loops: a claim asks this of every task it walks past, and most pairs share nothing (nothing to allocate).
  const conflicts: FileConflict[] = [];
  for (const r of held) {
    if (r.key === mine || r.taskId === taskId || !anyOverlap(files, r.files)) continue;
    conflicts.push({ taskId, files: overlappingFiles(files, r.files), holder: r.holder, holderTaskId: r.taskId, leaseExpiresAt: r.until });
  }
  return conflicts;
};

const anyOverlap = (mine: readonly string[], theirs: readonly string[]): boolean => {
  for (const file of mine) for (const other of theirs) if (patternsOverlap(file, other)) return true;
  return false;
};

export type MarkFiles = Command<'MarkFiles', { agent: string; files: string[]; ttlSeconds?: number }>;
export type UnmarkFiles = Command<'UnmarkFiles', { agent: string; files: string[] }>;
export type FileCommand = MarkFiles | UnmarkFiles;

/** Without `ttlSeconds` a mark lasts as long as the agent holds a lease in the project, so it needs one. */
export const markFiles: Rule<MarkFiles> = ({ data, metadata }, state) => {
  requireProject(state);
  const held = reservations(state, metadata.now);
  const hasLease = leasesHeldBy(state, metadata.actor, data.agent, metadata.now).length > 0;
  if (data.ttlSeconds === undefined && !hasLease) {
    throw unprocessable(
      'MARK_NEEDS_TTL',
      `Agent ${data.agent} holds no lease in project ${state.projectId}, so a mark without ttlSeconds would end at once.`,
      { agent: data.agent, projectId: state.projectId },
      'Send ttlSeconds, or claim a task first.',
    );
  }
  const files = [...new Set(data.files)];
  const expiresAt = data.ttlSeconds === undefined ? null : new Date(Date.parse(metadata.now) + data.ttlSeconds * 1000).toISOString();
  // Advisory: overlaps with what others hold are recorded and answered, never refused. No task is asked for (taskId '').
  const overlaps = fileConflicts(held, '', files, metadata.actor, data.agent);
  return {
    type: 'FilesMarked',
    data: { projectId: state.projectId, agent: data.agent, files, expiresAt, overlaps, markedAt: metadata.now },
  };
};

export const unmarkFiles: Rule<UnmarkFiles> = ({ data, metadata }, state) => {
  requireProject(state);
  const marks = state.marks.get(agentKey(metadata.actor, data.agent));
  if (!marks) return [];
  const files = data.files.filter((file) => marks.has(file));
  if (data.files.length > 0 && files.length === 0) return [];
  return { type: 'FilesUnmarked', data: { projectId: state.projectId, agent: data.agent, files, unmarkedAt: metadata.now } };
};
