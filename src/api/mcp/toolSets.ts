import type { Logger } from 'pino';
import { ConfigError } from '../../errors.js';
import type { AnyOperation } from '../catalog/operation.js';

/** What an agent doing work needs: find, claim, keep, finish and file work. */
export const CORE_TOOLS = [
  'get_task',
  'list_tasks',
  'claim_next_task',
  'heartbeat_task',
  'complete_task',
  'search_tasks',
  'create_task',
  'add_task_dependency',
  'execute_task',
] as const;

/** Core plus the rest of Vespera V2's tools (planning, roles, history and analysis) and typed links. */
export const STANDARD_TOOLS = [
  ...CORE_TOOLS,
  'create_task_tree',
  'update_task',
  'delete_task',
  'get_task_dashboard',
  'get_task_tree',
  'analyze_task_dependencies',
  'list_roles',
  'assign_role_to_task',
  'change_task_status',
  'get_task_history',
  'remove_task_dependency',
  'link_tasks',
  'unlink_tasks',
  'release_task',
  'get_critical_path',
  'get_project_graph',
  'find_similar_tasks',
  'validate_role_assignment',
  'find_suitable_roles',
] as const;

/** The named sets VESPERA_MCP_TOOLS may choose (besides a comma list of tool names). */
export const TOOL_SET_NAMES = ['core', 'standard', 'all'] as const;

/**
 * The operations served as MCP tools, in catalog order. Members of a named set that the catalog does not
 * hold (yet) are skipped; a name the operator listed explicitly must exist, or the server refuses to start.
 */
export const selectTools = (operations: readonly AnyOperation[], selection: string, logger?: Logger): AnyOperation[] => {
  const byTool = new Map(operations.filter((op) => op.tool).map((op) => [op.tool, op]));
  const choice = selection.trim();
  if (choice === 'all') return [...byTool.values()];
  if (choice === 'core' || choice === 'standard') {
    const wanted: readonly string[] = choice === 'core' ? CORE_TOOLS : STANDARD_TOOLS;
    const missing = wanted.filter((name) => !byTool.has(name));
    if (missing.length > 0) logger?.debug({ toolSet: choice, missing }, 'tools of this set are not in the catalog; skipped');
    return [...byTool.values()].filter((op) => wanted.includes(op.tool));
  }
  const names = choice
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !byTool.has(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigError([
      `VESPERA_MCP_TOOLS names tools the catalog does not have: ${unknown.join(', ') || '(none given)'}; use ${TOOL_SET_NAMES.join(', ')} or a comma list of: ${[...byTool.keys()].join(', ')}`,
    ]);
  }
  return [...byTool.values()].filter((op) => names.includes(op.tool));
};

/**
 * Token budgets of a `tools/list` answer (characters / 4): `core` must stay small; `all` (every tool, the audit
 * and admin ones included: a set for operators, not for an agent's loop) within 13,000 (12,000 until issue 16 added
 * the picture, graph-query, health, import and export tools); any other set within 9,000.
 */
export const budgetOf = (selection: string): number => {
  const set = selection.trim();
  return set === 'core' ? 2_500 : set === 'all' ? 13_000 : 9_000;
};
