import { compileGlobs } from './glob.js';
import { escapesProject, type RoleDefinition } from './roleSchema.js';
import { TOOL_GROUPS } from '../../events/vocabulary.js';

export type AssignableRole = RoleDefinition & { retired?: boolean };

export type AssignmentReasonCode =
  'UNKNOWN_ROLE' | 'ROLE_RETIRED' | 'MISSING_CAPABILITIES' | 'FILES_OUTSIDE_PATTERNS' | 'WORKLOAD_LIMIT' | 'TASK_TOO_DEEP';

export type AssignmentReason = { code: AssignmentReasonCode; message: string; [detail: string]: unknown };

export type AssignmentTask = { requiredCapabilities: readonly string[]; files: readonly string[]; depth: number };

export type RoleFit = {
  role: string;
  suitable: boolean;
  missingCapabilities: string[];
  filesOutside: string[];
  extraCapabilities: number;
  inProgress: number;
  /** null: no role-wide cap. */
  limit: number | null;
  /** Slots left under the role-wide cap; null when there is none. */
  freeCapacity: number | null;
  score: number;
};

const MATCHER_CACHE_SIZE = 256;
const matchers = new Map<string, (path: string) => boolean>();

const matcherFor = (patterns: readonly string[]): ((path: string) => boolean) => {
  const key = patterns.join('\0');
  let matcher = matchers.get(key);
  if (!matcher) {
    if (matchers.size >= MATCHER_CACHE_SIZE) matchers.clear();
    matcher = compileGlobs(patterns);
    matchers.set(key, matcher);
  }
  return matcher;
};

/** The files no pattern covers. A path that could leave the project never counts as covered, whatever `**` says. */
export const filesOutsidePatterns = (files: readonly string[], patterns: readonly string[]): string[] => {
  const matches = matcherFor(patterns);
  return files.filter((file) => {
    const path = file.replace(/^(\.\/)+/, '');
    return escapesProject(path) || !matches(path);
  });
};

const missingCapabilities = (role: RoleDefinition, required: readonly string[]): string[] => {
  const held = new Set<string>(role.capabilities);
  return [...new Set(required)].filter((capability) => !held.has(capability));
};

/** Every reason the role may not take the task; empty when the assignment is allowed. Without `workload` the limit is not asked. */
export const assignmentReasons = (
  role: AssignableRole | undefined,
  roleName: string,
  task: AssignmentTask,
  workload?: { inProgress: number },
): AssignmentReason[] => {
  if (!role) return [{ code: 'UNKNOWN_ROLE', message: `No role is named \`${roleName}\`.`, role: roleName }];
  const reasons: AssignmentReason[] = [];
  if (role.retired) reasons.push({ code: 'ROLE_RETIRED', message: `Role \`${role.name}\` is retired.`, role: role.name });
  const missing = missingCapabilities(role, task.requiredCapabilities);
  if (missing.length > 0)
    reasons.push({
      code: 'MISSING_CAPABILITIES',
      message: `Role \`${role.name}\` lacks ${missing.join(', ')}.`,
      missing,
      capabilities: role.capabilities,
    });
  const outside = filesOutsidePatterns(task.files, role.filePatterns);
  if (outside.length > 0)
    reasons.push({
      code: 'FILES_OUTSIDE_PATTERNS',
      message: `${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside the file patterns of role \`${role.name}\`.`,
      files: outside,
      patterns: role.filePatterns,
    });
  if (workload && role.maxConcurrentTasks !== null && workload.inProgress >= role.maxConcurrentTasks)
    reasons.push({
      code: 'WORKLOAD_LIMIT',
      message: `Role \`${role.name}\` already has ${workload.inProgress} task(s) in progress, its limit is ${role.maxConcurrentTasks}.`,
      inProgress: workload.inProgress,
      limit: role.maxConcurrentTasks,
    });
  if (task.depth > role.restrictions.maxTaskDepth)
    reasons.push({
      code: 'TASK_TOO_DEEP',
      message: `The task is at depth ${task.depth}; role \`${role.name}\` takes tasks down to depth ${role.restrictions.maxTaskDepth}.`,
      depth: task.depth,
      maxTaskDepth: role.restrictions.maxTaskDepth,
    });
  return reasons;
};

/** Whether the role could take the task at all (capabilities, file patterns, depth, not retired), whatever its workload. */
export const roleFitsTask = (role: AssignableRole | undefined, roleName: string, task: AssignmentTask): boolean =>
  assignmentReasons(role, roleName, task).length === 0;

const fitOf = (role: RoleDefinition, required: readonly string[], files: readonly string[], inProgress: number): RoleFit => {
  const wanted = [...new Set(required)];
  const missing = missingCapabilities(role, wanted);
  const filesOutside = filesOutsidePatterns(files, role.filePatterns);
  const freeCapacity = role.maxConcurrentTasks === null ? null : Math.max(0, role.maxConcurrentTasks - inProgress);
  const extraCapabilities = role.capabilities.length - (wanted.length - missing.length);
  const suitable = missing.length === 0 && filesOutside.length === 0 && (freeCapacity === null || freeCapacity > 0);
  // Suitable roles score 0.5–1 (tighter is higher); the rest stay below 0.5, by how much they cover.
  const coverage = (wanted.length === 0 ? 1 : 1 - missing.length / wanted.length) * (files.length === 0 ? 1 : 1 - filesOutside.length / files.length);
  const score = suitable ? 0.5 + 0.5 * (1 - extraCapabilities / TOOL_GROUPS.length) : 0.49 * coverage;
  return {
    role: role.name,
    suitable,
    missingCapabilities: missing,
    filesOutside,
    extraCapabilities,
    inProgress,
    limit: role.maxConcurrentTasks,
    freeCapacity,
    score: Math.round(score * 1000) / 1000,
  };
};

const byFit = (a: RoleFit, b: RoleFit): number =>
  Number(b.suitable) - Number(a.suitable) ||
  (a.suitable
    ? a.extraCapabilities - b.extraCapabilities
    : a.missingCapabilities.length - b.missingCapabilities.length || a.filesOutside.length - b.filesOutside.length) ||
  (b.freeCapacity ?? Infinity) - (a.freeCapacity ?? Infinity) ||
  (a.role < b.role ? -1 : a.role > b.role ? 1 : 0);

/** Live roles ranked: suitable ones first, tightest fit then most free capacity; the others by fewest missing capabilities. */
export const rankSuitableRoles = (
  roles: readonly AssignableRole[],
  required: readonly string[],
  files: readonly string[],
  workload: ReadonlyMap<string, number>,
): RoleFit[] =>
  roles
    .filter((role) => !role.retired)
    .map((role) => fitOf(role, required, files, workload.get(role.name) ?? 0))
    .sort(byFit);
