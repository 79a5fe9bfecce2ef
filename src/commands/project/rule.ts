import type { ProjectEvent } from '../../events/project.js';
import type { Command } from '../../events/types.js';
import type { ProjectState } from './project.js';

/** `defaultEstimate`: hours assumed for a task without an estimate when claims are ranked by CPM slack. */
export type ProjectRules = Readonly<{ maxDepth: number; maxTreeNodes: number; defaultEstimate?: number }>;
export const DEFAULT_RULES: ProjectRules = { maxDepth: 10, maxTreeNodes: 1000, defaultEstimate: 8 };

export type Decision = ProjectEvent | readonly ProjectEvent[];

/**
 * One rule per command, all called the same way. A rule starts with the guards it needs (guards.ts):
 * `requireProject` in every rule but the three that may meet an empty stream (CreateProject, CreateTask(Tree)
 * for the implicit default project, and the sweeper's ExpireLease).
 */
export type Rule<C extends Command> = (command: C, state: ProjectState, rules: ProjectRules) => Decision;
