import { badRequest, notFound, unprocessable } from '../../errors.js';
import type { TaskLinked } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import { LINK_KINDS, type LinkKind } from '../../events/vocabulary.js';
import type { Rule } from './rule.js';
import { requireProject, requireTaskAt } from './guards.js';
import { linkKey, type ProjectState, type TaskNode } from './project.js';

/** `targetProjectId`: where the read model places the target (null: nowhere), so a cross-project link is named as such. */
export type LinkTasks = Command<
  'LinkTasks',
  { taskId: string; kind: LinkKind; target: string; targetProjectId?: string | null; expectedVersion?: number }
>;
export type UnlinkTasks = Command<'UnlinkTasks', { taskId: string; kind: LinkKind; target: string; expectedVersion?: number }>;
export type LinkCommand = LinkTasks | UnlinkTasks;

/** The target of a new link: another task of this project (the link cannot outlive it: deleting either drops it). */
export const requireLinkTarget = (state: ProjectState, taskId: string, kind: LinkKind, target: string, targetProjectId?: string | null): TaskNode => {
  if (!(LINK_KINDS as readonly string[]).includes(kind)) {
    throw badRequest('INVALID_LINK_KIND', `Unknown link kind ${kind}; allowed: ${LINK_KINDS.join(', ')}.`, { kind, allowed: [...LINK_KINDS] });
  }
  if (target === taskId) throw badRequest('SELF_LINK', `Task ${taskId} cannot link to itself.`, { taskId, kind });
  const node = state.tasks.get(target);
  if (node) return node;
  if (targetProjectId && targetProjectId !== state.projectId) {
    throw unprocessable(
      'CROSS_PROJECT_LINK',
      `Task ${target} belongs to project ${targetProjectId}, not ${state.projectId}; links stay inside one project.`,
      { taskId, target, projectId: state.projectId, targetProjectId },
    );
  }
  throw notFound('TASK_NOT_FOUND', `Task ${target} does not exist.`, { taskId: target });
};

export const taskLinked = (projectId: string, taskId: string, kind: LinkKind, target: string, now: string): TaskLinked => ({
  type: 'TaskLinked',
  data: { taskId, projectId, kind, target, linkedAt: now },
});

/** Linking again what is already linked changes nothing (no event): a retried link is harmless. */
export const linkTasks: Rule<LinkTasks> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  const target = requireLinkTarget(state, task.id, data.kind, data.target, data.targetProjectId);
  if (task.links.has(linkKey(data.kind, target.id))) return [];
  return taskLinked(state.projectId, task.id, data.kind, target.id, metadata.now);
};

export const unlinkTasks: Rule<UnlinkTasks> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (!task.links.has(linkKey(data.kind, data.target))) {
    throw notFound('LINK_NOT_FOUND', `Task ${task.id} has no ${data.kind} link to ${data.target}.`, {
      taskId: task.id,
      kind: data.kind,
      target: data.target,
    });
  }
  return {
    type: 'TaskUnlinked',
    data: { taskId: task.id, projectId: state.projectId, kind: data.kind, target: data.target, unlinkedAt: metadata.now },
  };
};
