import type { RoleSpec } from '../../events/roles.js';
import { TOOL_GROUPS, type ToolGroup } from '../../events/vocabulary.js';
import { expandedLength } from './glob.js';
import { GlobError, MAX_GLOB_LENGTH, MAX_GLOB_LIST_CHARACTERS, parseGlob } from './globSyntax.js';

type JsonSchema = Record<string, unknown>;

export type { RoleRestrictions } from '../../events/roles.js';

/** A role as the files and the API define it: the event's RoleSpec, with capabilities limited to the tool groups. */
export type RoleDefinition = RoleSpec & { capabilities: ToolGroup[] };

export const ROLE_NAME_PATTERN = '^[a-z][a-z0-9_]{1,63}$';
export { MAX_GLOB_LENGTH };

const roleName = {
  type: 'string',
  pattern: ROLE_NAME_PATTERN,
  description: 'Role name: lower-case letters, digits and `_`, starting with a letter (2–64 chars)',
} as const;

const roleFields = {
  description: { type: 'string', minLength: 1, maxLength: 2000, description: 'What the role is for' },
  capabilities: {
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { type: 'string', enum: TOOL_GROUPS },
    description: 'Tool groups the role may use',
  },
  filePatterns: {
    type: 'array',
    minItems: 1,
    maxItems: 200,
    items: { type: 'string', minLength: 1, maxLength: MAX_GLOB_LENGTH },
    description: 'Globs (relative to the project root) of the files the role may change: `*`, `**`, `?`, `[a-z]`, `{a,b}`',
  },
  tools: {
    type: 'array',
    maxItems: 100,
    uniqueItems: true,
    items: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
    description: 'Tool names the role works with',
  },
  maxConcurrentTasks: {
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 1000,
    description: 'In-progress tasks the role may hold at once, all its agents together (null: no role-wide cap)',
  },
  maxConcurrentTasksPerAgent: {
    type: ['integer', 'null'],
    minimum: 1,
    maximum: 1000,
    description: 'In-progress tasks one agent of the role may hold at once (null or left out: no per-agent cap)',
  },
} as const;

/** Fields a role may leave out (added after role files and events already existed). */
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['maxConcurrentTasksPerAgent']);

const restrictionFields = {
  maxFileChanges: { type: 'integer', minimum: 0, maximum: 100000, description: 'Files one task may change' },
  maxTaskDepth: { type: 'integer', minimum: 1, maximum: 64, description: 'Deepest task (in the task tree) the role may take' },
  requireApproval: { type: 'boolean', description: 'Whether the work needs approval before it counts as done' },
  timeLimitMinutes: { type: 'integer', minimum: 1, maximum: 10080, description: 'Time box for one task' },
} as const;

type KeyStyle = (camelCase: string) => string;
const camel: KeyStyle = (key) => key;
const snake: KeyStyle = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const strictObject = (fields: Record<string, JsonSchema>, key: KeyStyle): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(fields)
    .filter((name) => !OPTIONAL_FIELDS.has(name))
    .map(key),
  properties: Object.fromEntries(Object.entries(fields).map(([name, schema]) => [key(name), schema])),
});

const roleBody = (key: KeyStyle): Record<string, JsonSchema> => ({
  ...roleFields,
  restrictions: { ...strictObject(restrictionFields, key), description: 'Limits on every task the role takes' },
});

/** A role on the wire (REST bodies, events, read models): camelCase. */
export const roleDefinitionSchema: JsonSchema = strictObject({ name: roleName, ...roleBody(camel) }, camel);

/** A role file (`roles/*.yaml`): snake_case, roles keyed by name. */
export const roleFileSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'roles'],
  properties: {
    version: { const: 1 },
    roles: {
      type: 'object',
      minProperties: 1,
      maxProperties: 500,
      propertyNames: roleName,
      additionalProperties: strictObject(roleBody(snake), snake),
    },
  },
};

/** True for paths that could reach outside the project: absolute, drive-qualified, or with a `..` segment. */
export const escapesProject = (path: string): boolean =>
  path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path) || path.split(/[\\/]/).includes('..');

/** What is wrong with a file pattern, or undefined when it is a glob of the dialect `glob.ts` matches. */
export const globProblem = (pattern: string): string | undefined => {
  if (pattern.length === 0) return 'is an empty pattern';
  if (escapesProject(pattern)) return 'must be relative to the project root (no absolute path, no `..` segment)';
  try {
    parseGlob(pattern);
    return undefined;
  } catch (error) {
    if (error instanceof GlobError) return error.message;
    throw error;
  }
};

export type FilePatternProblem = { index?: number; pattern?: string; problem: string };

/** Every problem of a role's file patterns: each pattern's own, then (when each is fine) their total size. */
export const filePatternProblems = (patterns: readonly string[]): FilePatternProblem[] => {
  const problems = patterns.flatMap((pattern, index) => {
    const problem = globProblem(pattern);
    return problem ? [{ index, pattern, problem }] : [];
  });
  if (problems.length > 0) return problems;
  const size = patterns.reduce((sum, pattern) => sum + expandedLength(pattern), 0);
  return size > MAX_GLOB_LIST_CHARACTERS
    ? [{ problem: `total ${size} characters once braces are expanded, over the limit of ${MAX_GLOB_LIST_CHARACTERS}; use fewer or broader patterns` }]
    : [];
};
