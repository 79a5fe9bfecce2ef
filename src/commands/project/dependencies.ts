import { conflict, notFound, unprocessable } from '../../errors.js';
import type { Command } from '../../events/types.js';
import type { Rule } from './rule.js';
import { requireProject, requireTaskAt } from './guards.js';
import { findDependentPath } from './ordering.js';
import type { DependencyKind } from '../../events/vocabulary.js';

export type AddDependency = Command<
  'AddDependency',
  { taskId: string; dependsOn: string; kind?: DependencyKind; dependsOnProjectId?: string | null; expectedVersion?: number }
>;
export type RemoveDependency = Command<'RemoveDependency', { taskId: string; dependsOn: string; expectedVersion?: number }>;
export type DependencyCommand = AddDependency | RemoveDependency;

/** Adding an edge that exists with the other kind changes its kind; a cycle is searched only for a new edge. */
export const addDependency: Rule<AddDependency> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  const kind = data.kind ?? 'hard';
  if (data.dependsOn === task.id) {
    throw unprocessable('SELF_DEPENDENCY', `Task ${task.id} cannot depend on itself.`, { taskId: task.id });
  }
  const target = state.tasks.get(data.dependsOn);
  if (!target) {
    if (data.dependsOnProjectId && data.dependsOnProjectId !== state.projectId) {
      throw unprocessable(
        'CROSS_PROJECT_DEPENDENCY',
        `Task ${data.dependsOn} belongs to project ${data.dependsOnProjectId}, not ${state.projectId}; dependencies stay inside one project.`,
        { taskId: task.id, dependsOn: data.dependsOn, projectId: state.projectId, dependsOnProjectId: data.dependsOnProjectId },
      );
    }
    throw notFound('TASK_NOT_FOUND', `Task ${data.dependsOn} does not exist.`, { taskId: data.dependsOn });
  }
  const existing = task.deps.get(target.id);
  if (existing === kind) {
    throw conflict('DEPENDENCY_EXISTS', `Task ${task.id} already depends on ${target.id} (${kind}).`, {
      taskId: task.id,
      dependsOn: target.id,
      kind,
    });
  }
  // Only an edge pointing forward in the topological order can close a cycle.
  if (existing === undefined && target.ord > task.ord) {
    const path = findDependentPath(state, task, target);
    if (path) {
      // path runs task ← … ← target through "is depended on by"; the cycle reads task → target → … → task.
      const cycle = [task.id, ...path.reverse()];
      throw conflict(
        'DEPENDENCY_CYCLE',
        `Adding ${task.id} → ${target.id} would close the cycle ${cycle.join(' → ')}.`,
        {
          taskId: task.id,
          dependsOn: target.id,
          cycle,
        },
        'Remove one dependency on the cycle first, or depend on a different task.',
      );
    }
  }
  return {
    type: 'DependencyAdded',
    data: { taskId: task.id, projectId: state.projectId, dependsOn: target.id, kind, addedAt: metadata.now },
  };
};

export const removeDependency: Rule<RemoveDependency> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (!task.deps.has(data.dependsOn)) {
    throw notFound('DEPENDENCY_NOT_FOUND', `Task ${task.id} does not depend on ${data.dependsOn}.`, {
      taskId: task.id,
      dependsOn: data.dependsOn,
    });
  }
  return {
    type: 'DependencyRemoved',
    data: { taskId: task.id, projectId: state.projectId, dependsOn: data.dependsOn, removedAt: metadata.now },
  };
};
