import type { ProjectEvent } from '../../events/project.js';
import type { Command, Decider } from '../../events/types.js';
import { claimNextTask, claimTask, completeTask, expireLease, heartbeat, releaseTask, type ClaimCommand } from './claims.js';
import { addDependency, removeDependency, type DependencyCommand } from './dependencies.js';
import { markFiles, unmarkFiles, type FileCommand } from './files.js';
import { importTasks, type ImportTasks } from './importTasks.js';
import { linkTasks, unlinkTasks, type LinkCommand } from './links.js';
import { evolve, initialState, type ProjectState } from './project.js';
import { DEFAULT_RULES, type Decision, type ProjectRules } from './rule.js';
import { assignRole, unassignRole, type RoleCommand } from './roles.js';
import { changeTaskStatus, updateTask, type StatusCommand } from './status.js';
import { createProject, createTask, createTaskTree, deleteTask, moveTask, type TreeCommand } from './tree.js';
import { undoRequest, type UndoRequest } from './undo.js';

export type ProjectCommand =
  TreeCommand | StatusCommand | DependencyCommand | LinkCommand | RoleCommand | ClaimCommand | FileCommand | UndoRequest | ImportTasks;

export const projectDecider = (rules: ProjectRules = DEFAULT_RULES): Decider<ProjectState, ProjectCommand, ProjectEvent> => {
  const decide = (command: ProjectCommand, state: ProjectState): Decision => {
    switch (command.type) {
      case 'CreateProject':
        return createProject(command, state, rules);
      case 'CreateTask':
        return createTask(command, state, rules);
      case 'CreateTaskTree':
        return createTaskTree(command, state, rules);
      case 'MoveTask':
        return moveTask(command, state, rules);
      case 'DeleteTask':
        return deleteTask(command, state, rules);
      case 'UpdateTask':
        return updateTask(command, state, rules);
      case 'ChangeTaskStatus':
        return changeTaskStatus(command, state, rules);
      case 'AddDependency':
        return addDependency(command, state, rules);
      case 'RemoveDependency':
        return removeDependency(command, state, rules);
      case 'LinkTasks':
        return linkTasks(command, state, rules);
      case 'UnlinkTasks':
        return unlinkTasks(command, state, rules);
      case 'AssignRole':
        return assignRole(command, state, rules);
      case 'UnassignRole':
        return unassignRole(command, state, rules);
      case 'ClaimTask':
        return claimTask(command, state, rules);
      case 'ClaimNextTask':
        return claimNextTask(command, state, rules);
      case 'Heartbeat':
        return heartbeat(command, state, rules);
      case 'ReleaseTask':
        return releaseTask(command, state, rules);
      case 'ExpireLease':
        return expireLease(command, state, rules);
      case 'CompleteTask':
        return completeTask(command, state, rules);
      case 'MarkFiles':
        return markFiles(command, state, rules);
      case 'UnmarkFiles':
        return unmarkFiles(command, state, rules);
      case 'ImportTasks':
        return importTasks(command, state, rules);
      case 'UndoRequest':
        return undoRequest(command, state, rules);
      default: {
        const _exhaustive: never = command;
        throw new Error(`Unknown command ${(_exhaustive as Command).type}`);
      }
    }
  };
  return { decide, evolve, initialState };
};
