import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { isPair, isScalar, isSeq, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import type { ToolGroup } from '../../events/vocabulary.js';
import { filePatternProblems, roleFileSchema, type RoleDefinition } from './roleSchema.js';

export const MAX_ROLE_FILE_BYTES = 256 * 1024;

export const roleDefaultsDir = (): string => fileURLToPath(new URL('../../../roles/', import.meta.url)).replace(/[\\/]$/, '');

export const DEFAULT_ROLE_FILES: readonly string[] = ['default_roles.yaml', 'enhanced_roles.yaml'].map((name) => resolve(roleDefaultsDir(), name));

export type RoleFileProblem = { path: string; message: string };

/** A role file that must stop start-up: which file, where in it (a JSON pointer) and what is wrong. */
export class RoleFileError extends Error {
  readonly path: string;
  readonly problem: string;

  constructor(
    readonly file: string,
    readonly problems: readonly [RoleFileProblem, ...RoleFileProblem[]],
  ) {
    super(`${displayName(file)}: ${problems.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)).join('; ')}`);
    this.name = 'RoleFileError';
    this.path = problems[0].path;
    this.problem = problems[0].message;
  }
}

/** `sources` maps each role name to its file, named as in error messages. */
export type LoadedRoles = { roles: RoleDefinition[]; sources: Record<string, string> };

type RoleFileEntry = {
  description: string;
  capabilities: ToolGroup[];
  file_patterns: string[];
  tools: string[];
  max_concurrent_tasks: number | null;
  max_concurrent_tasks_per_agent?: number | null;
  restrictions: { max_file_changes: number; max_task_depth: number; require_approval: boolean; time_limit_minutes: number };
};
type RoleFile = { version: 1; roles: Record<string, RoleFileEntry> };

/** Shipped files are named from the repository root (`roles/enhanced_roles.yaml`), so names stay the same on every machine. */
const displayName = (file: string): string => {
  const absolute = resolve(file);
  const rel = relative(resolve(roleDefaultsDir(), '..'), absolute);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.replaceAll('\\', '/') : absolute;
};

const pointer = (segments: readonly (string | number)[]): string =>
  segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

const validateFile = new Ajv2020({ allErrors: true, strict: true }).compile<RoleFile>(roleFileSchema);

const describeSchemaError = (error: ErrorObject): RoleFileProblem | undefined => {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'propertyNames') return undefined; // its inner error, which names the key, is reported
  if (error.propertyName !== undefined)
    return {
      path: `${error.instancePath}${pointer([error.propertyName])}`,
      message: 'is not a valid role name (lower-case letters, digits and _, 2–64 chars, starting with a letter)',
    };
  if (error.keyword === 'additionalProperties')
    return { path: `${error.instancePath}${pointer([String(params.additionalProperty)])}`, message: 'is not a known field' };
  if (error.keyword === 'required') return { path: `${error.instancePath}${pointer([String(params.missingProperty)])}`, message: 'is required' };
  if (error.keyword === 'type' && error.instancePath === '') return { path: '', message: 'must be a YAML mapping with `version` and `roles`' };
  if (error.keyword === 'enum') return { path: error.instancePath, message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}` };
  return { path: error.instancePath, message: error.message ?? 'is invalid' };
};

const yamlPosition = (error: YAMLError): string => {
  const at = error.linePos?.[0];
  return at ? ` at line ${at.line}, column ${at.col}` : '';
};

/** The JSON pointer of the mapping key starting at `offset` (where a duplicate key was reported). */
const keyPointerAt = (doc: Document, offset: number): string => {
  let found = '';
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const chain = [...ancestors, pair];
      found = pointer(
        chain.flatMap((node, i): (string | number)[] => {
          if (isPair(node)) return [isScalar(node.key) ? String(node.key.value) : '?'];
          if (isSeq(node)) return [node.items.indexOf(chain[i + 1] as never)];
          return [];
        }),
      );
      return visit.BREAK;
    },
  });
  return found;
};

const readText = (file: string): string => {
  try {
    const { size } = statSync(file);
    if (size > MAX_ROLE_FILE_BYTES)
      throw new RoleFileError(file, [{ path: '', message: `is ${Math.ceil(size / 1024)} KB, over the ${MAX_ROLE_FILE_BYTES / 1024} KB limit` }]);
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof RoleFileError) throw error;
    throw new RoleFileError(file, [{ path: '', message: `cannot be read: ${(error as Error).message}` }]);
  }
};

const parseYaml = (file: string, text: string): unknown => {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const [error] = doc.errors;
  if (!error) {
    try {
      return doc.toJS({ maxAliasCount: 100 });
    } catch (expansion) {
      throw new RoleFileError(file, [{ path: '', message: `cannot be expanded: ${(expansion as Error).message}` }]);
    }
  }
  if (error.code === 'DUPLICATE_KEY')
    throw new RoleFileError(file, [{ path: keyPointerAt(doc, error.pos[0]), message: `is defined twice (second time${yamlPosition(error)})` }]);
  const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  throw new RoleFileError(file, [{ path: '', message: `is not valid YAML${yamlPosition(error)}: ${reason}` }]);
};

const checkGlobs = (file: string, roles: RoleFile['roles']): void => {
  const problems = Object.entries(roles).flatMap(([name, role]) =>
    filePatternProblems(role.file_patterns).map(({ index, problem }) => ({
      path: pointer(['roles', name, 'file_patterns', ...(index === undefined ? [] : [index])]),
      message: problem,
    })),
  );
  const [first, ...rest] = problems;
  if (first) throw new RoleFileError(file, [first, ...rest]);
};

const toDefinition = (name: string, entry: RoleFileEntry): RoleDefinition => ({
  name,
  description: entry.description,
  capabilities: entry.capabilities,
  filePatterns: entry.file_patterns,
  tools: entry.tools,
  maxConcurrentTasks: entry.max_concurrent_tasks,
  maxConcurrentTasksPerAgent: entry.max_concurrent_tasks_per_agent ?? null,
  restrictions: {
    maxFileChanges: entry.restrictions.max_file_changes,
    maxTaskDepth: entry.restrictions.max_task_depth,
    requireApproval: entry.restrictions.require_approval,
    timeLimitMinutes: entry.restrictions.time_limit_minutes,
  },
});

const loadRoleFile = (file: string): RoleDefinition[] => {
  const content = parseYaml(file, readText(file));
  if (!validateFile(content)) {
    const [first, ...rest] = (validateFile.errors ?? []).flatMap((e) => describeSchemaError(e) ?? []).slice(0, 10);
    throw new RoleFileError(file, [first ?? { path: '', message: 'does not match the role file schema' }, ...rest]);
  }
  checkGlobs(file, content.roles);
  return Object.entries(content.roles).map(([name, entry]) => toDefinition(name, entry));
};

/** Reads and validates role files; any problem refuses the whole set, as start-up must not run on half a catalog. */
export const loadRoleFiles = (files: readonly string[]): LoadedRoles => {
  const sources = new Map<string, string>();
  const roles: RoleDefinition[] = [];
  for (const file of files) {
    for (const role of loadRoleFile(file)) {
      const earlier = sources.get(role.name);
      if (earlier !== undefined)
        throw new RoleFileError(file, [{ path: pointer(['roles', role.name]), message: `duplicates the role defined in ${earlier}` }]);
      sources.set(role.name, displayName(file));
      roles.push(role);
    }
  }
  return { roles, sources: Object.fromEntries(sources) };
};
