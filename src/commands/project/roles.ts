import { conflict } from '../../errors.js';
import type { Command } from '../../events/types.js';
import type { AssignableRole } from '../roles/assignment.js';
import type { Rule } from './rule.js';
import { requireProject, requireRoleFits, requireTaskAt } from './guards.js';

/** The role's definition (or null when unknown) and its workload come from the caller: the roles stream and the read model. */
export type AssignRole = Command<
  'AssignRole',
  { taskId: string; role: string; definition: AssignableRole | null; inProgress: number; dryRun?: boolean; expectedVersion?: number }
>;
export type UnassignRole = Command<'UnassignRole', { taskId: string; role?: string; expectedVersion?: number }>;
export type RoleCommand = AssignRole | UnassignRole;

/** A dry run answers whether the role fits without recording anything. */
export const assignRole: Rule<AssignRole> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  // The task's own claim already counts in the role's workload when it stays with the same role.
  const counted = task.role === data.role && task.status === 'in_progress' ? 1 : 0;
  requireRoleFits(
    data.role,
    task,
    data.definition,
    data.inProgress - counted,
    'Pick a role from find_suitable_roles, or change the task so it fits.',
  );
  if (task.role === data.role || data.dryRun) return [];
  return {
    type: 'RoleAssigned',
    data: { taskId: task.id, projectId: state.projectId, role: data.role, previousRole: task.role, assignedAt: metadata.now },
  };
};

export const unassignRole: Rule<UnassignRole> = ({ data, metadata }, state) => {
  requireProject(state);
  const task = requireTaskAt(state, data.taskId, data.expectedVersion);
  if (data.role !== undefined && task.role !== null && task.role !== data.role) {
    throw conflict('ROLE_NOT_ASSIGNED', `Task ${task.id} is assigned to ${task.role}, not ${data.role}.`, { taskId: task.id, role: task.role });
  }
  if (task.role === null) return [];
  return { type: 'RoleUnassigned', data: { taskId: task.id, projectId: state.projectId, role: task.role, unassignedAt: metadata.now } };
};
