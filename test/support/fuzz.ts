import type { AnyOperation } from '../../src/api/catalog/operation.js';
import type { Random } from './random.js';

/** Seeded input for the catalog fuzzer (test/api/fuzz.int.spec.ts): values a schema accepts, and values it should refuse. */

export type Schema = Record<string, unknown>;

export const UNICODE = [
  'ñandú',
  '漢字テスト',
  '🙂🚀',
  '\u0000',
  '\ud800',
  'ǅ',
  'ＡＢＣ',
  '\u202eevil',
  'a\nb\tc',
  'Ω≈ç√',
  '"quoted"',
  "'; DROP TABLE tasks; --",
  '<script>',
];
const WRONG_TYPES: unknown[] = [123, -1, 1.5, true, false, 'text', [], [1, 'a'], {}, { a: 1 }, null, 1e308];
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** URLs cannot carry a lone surrogate (encodeURIComponent throws): it becomes U+FFFD there. */
export const wellFormed = (text: string) => text.replace(LONE_SURROGATE, '\ufffd');
export const GARBAGE_BODIES = [
  '{',
  '{"title":',
  'null',
  '"string"',
  '42',
  '[]',
  '[{"title":"x"}]',
  '{"title":"x",}',
  '\u0000\u0001',
  '{{}}',
  'title=x',
  '{"a":1}{"b":2}',
];

const AUDIT_POINT_OPERATIONS: ReadonlySet<string> = new Set(['getTaskAsOf', 'getProjectAsOf', 'diffProject']);

/** What the fuzzer has seen exist: answers feed the next requests, so clean requests reach their handlers. */
export type Known = {
  tasks: string[];
  projectOf: Map<string, string>;
  claimed: string[];
  dependencies: Array<[string, string]>;
  assigned: Array<[string, string]>;
  projects: string[];
  roles: string[];
  /** Roles this run defined (the shipped ones are read-only). */
  ownRoles: string[];
  plugins: string[];
  jtis: Map<string, string[]>;
  services: string[];
  /** Correlation ids of requests that changed project tasks, newest last (what undo can name). */
  requests: string[];
  /** Correlation ids seen in listed events. */
  correlations: string[];
  /** Ids of verify and rebuild jobs started or listed. */
  jobs: string[];
  /** Typed links made: [task, kind, target]. */
  links: Array<[string, string, string]>;
};

export const emptyKnown = (): Known => ({
  tasks: [],
  projectOf: new Map(),
  claimed: [],
  dependencies: [],
  assigned: [],
  projects: ['default'],
  roles: [],
  ownRoles: [],
  plugins: [],
  jtis: new Map(),
  services: [],
  requests: [],
  correlations: [],
  jobs: [],
  links: [],
});

const TASK_ID_FIELDS = new Set(['id', 'taskId', 'dependsOn', 'to', 'parentId', 'rootTaskId', 'target', 'discoveredFrom']);
const ROLE_OPERATIONS = new Set(['getRole', 'defineRole', 'changeRole', 'retireRole', 'validateRoleAssignment', 'assignRole', 'unassignRole']);
const CLAIMED_OPERATIONS = new Set(['heartbeatTask', 'releaseTask', 'completeTask']);
/** Optional fields a clean request leaves out: their valid values depend on state the fuzzer does not model. */
const CLEAN_OMITS = new Set([
  'cursor',
  'expectedVersion',
  'agent',
  'parentId',
  'rootTaskId',
  'role',
  'tag',
  'q',
  'minPosition',
  'capabilities',
  'leaseSeconds',
  'changedFiles',
]);

export const generator = (rnd: Random, known: Known) => {
  const randomText = (min: number, max: number) => {
    const length = rnd.int(min, Math.max(min, Math.min(max, 24)));
    let text = '';
    while (text.length < length) text += rnd.chance(0.1) ? rnd.pick(UNICODE) : rnd.pick(['a', 'b', 'x', 'task', ' ', '-', '_', '7', 'Z']);
    return text.slice(0, Math.max(length, min));
  };
  /** A short name matching `pattern`, for ids the caller chooses (roles, plugins, projects). */
  const fitting = (pattern: string | undefined, prefix: string) => {
    const n = rnd.int(0, 1e6);
    const candidates = [`${prefix}_${n}`, `${prefix}-${n}`, `${prefix}${n}`];
    return candidates.find((c) => !pattern || new RegExp(pattern).test(c)) ?? candidates[0]!;
  };
  const hostileId = (): string =>
    rnd.pick([
      () => `id-${rnd.int(0, 1e9)}`,
      () => rnd.pick(UNICODE),
      () => 'x'.repeat(rnd.pick([65, 500, 3000])),
      () => rnd.pick(['dashboard', 'ready', 'tree', '..', '.', '%zz', '%E0%A4%A', '-', '_']),
    ])();
  const some = <T>(items: readonly T[], otherwise: () => T): T => (items.length ? rnd.pick(items) : otherwise());

  /** A value from what exists, for the fields that name something; undefined for the others. */
  const knownValue = (op: AnyOperation, name: string, pattern: string | undefined): unknown => {
    if (name === 'id' && (op.name === 'createProject' || op.name === 'registerPlugin')) return fitting(pattern, 'fuzz');
    // Points of the audit reads: an early position always exists (the startup events), or an ISO time.
    if ((name === 'at' || name === 'from' || name === 'to') && AUDIT_POINT_OPERATIONS.has(op.name))
      return rnd.chance(0.8) ? String(rnd.int(1, 30)) : new Date(Date.now() - rnd.int(0, 60_000)).toISOString();
    if (name === 'id' && op.name === 'getAdminJob') return some(known.jobs, () => '00000000-0000-4000-8000-000000000000');
    if (TASK_ID_FIELDS.has(name)) {
      if (CLAIMED_OPERATIONS.has(op.name) && known.claimed.length) return rnd.pick(known.claimed);
      return some(known.tasks, () => 'none-yet');
    }
    if (name === 'projectId') return op.name === 'createProject' ? undefined : some(known.projects, () => 'default');
    if (name === 'pluginId') return some(known.plugins, () => 'none-yet');
    if (name === 'jti') return undefined;
    if (name === 'correlationId' && op.name === 'getCorrelation') return some([...known.correlations, ...known.requests], () => 'none-yet');
    if (name === 'role') return some(known.roles, () => 'generalist');
    if (name === 'name' && ROLE_OPERATIONS.has(op.name)) {
      if (op.name === 'defineRole') return fitting(pattern, 'fuzz_role');
      if (op.name === 'changeRole' || op.name === 'retireRole') return some(known.ownRoles, () => fitting(pattern, 'fuzz_role'));
      return some(known.roles, () => 'generalist');
    }
    if (name === 'name' && op.name === 'controlService') return some(known.services, () => 'cycle_detection');
    // A graph query is Cypher: clean ones are read-only questions (random text would only be refused).
    if (name === 'cypher' && op.name === 'graphQuery')
      return rnd.pick([
        'MATCH (t:Task) RETURN t.id, t.status LIMIT 5',
        'MATCH (t:Task) RETURN count(t) AS n',
        'MATCH (a:Task)-[d:DEPENDS_ON]->(b:Task) RETURN a.id, d.kind, b.id',
      ]);
    if (name === 'params' && op.name === 'graphQuery') return {};
    // The newest request is the one nothing later touched yet: the one an undo can reverse.
    if (name === 'correlationId')
      return known.requests.length ? known.requests.at(rnd.chance(0.8) ? -1 : -rnd.int(1, known.requests.length))! : 'none-yet';
    return undefined;
  };

  /** A value `raw` accepts, most of the time; `clean` values also respect patterns and name things that exist. */
  const valid = (op: AnyOperation, raw: Schema, name: string, depth: number, clean: boolean): unknown => {
    const ref = typeof raw.$ref === 'string' ? /^#\/\$defs\/(.+)$/.exec(raw.$ref)?.[1] : undefined;
    const schema = ref ? (((op.input.$defs ?? {}) as Record<string, Schema>)[ref] ?? {}) : raw;
    const pattern = typeof schema.pattern === 'string' ? schema.pattern : undefined;
    if (depth === 1 || (depth > 1 && TASK_ID_FIELDS.has(name))) {
      const value = clean ? knownValue(op, name, pattern) : rnd.chance(0.5) ? knownValue(op, name, pattern) : undefined;
      if (value !== undefined) return value;
    }
    if (Array.isArray(schema.enum)) return rnd.pick(schema.enum);
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [String(schema.type ?? 'object')];
    const type = rnd.pick(clean && types.length > 1 ? types.filter((t) => t !== 'null') : types);
    const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
    const max = typeof schema.maximum === 'number' ? schema.maximum : min + 50;
    switch (type) {
      case 'null':
        return null;
      case 'boolean':
        return rnd.chance(0.5);
      case 'integer':
        // A position past the log head waits for the read model and then answers 503 by design.
        return name === 'minPosition' ? 0 : rnd.int(min, Math.min(max, min + 50));
      case 'number':
        return Math.round((min + rnd.next() * (Math.min(max, min + 1000) - min)) * 100) / 100;
      case 'string': {
        if (name === 'projectId') return rnd.chance(0.7) ? some(known.projects, () => 'default') : `proj-${rnd.int(0, 99)}`;
        if (name === 'cursor')
          return rnd.chance(0.5)
            ? randomText(1, 20)
            : Buffer.from(JSON.stringify(rnd.pick([[1, 2], ['a'], [null, 3], ['x', 'y']]))).toString('base64url');
        if (pattern === '^[A-Za-z0-9_-]+$')
          return clean ? some(known.tasks, () => 'none-yet') : rnd.chance(0.5) ? some(known.tasks, hostileId) : hostileId();
        const minLength = Number(schema.minLength ?? 0);
        const maxLength = Number(schema.maxLength ?? 40);
        if (clean) {
          if (pattern && pattern !== '\\S') return fitting(pattern, 'fuzz');
          return `fuzz ${rnd.pick(['parser', 'lexer', 'deploy', 'login', 'cache', 'search'])} ${rnd.int(0, 1e4)}`
            .slice(0, maxLength)
            .padEnd(minLength, 'x');
        }
        return randomText(minLength, maxLength);
      }
      case 'array': {
        const items = (schema.items ?? {}) as Schema;
        const length = rnd.int(Number(schema.minItems ?? 0), Math.max(Number(schema.minItems ?? 0), 3));
        const values = Array.from({ length }, () => valid(op, items, name, depth + 1, clean));
        return schema.uniqueItems ? [...new Set(values)] : values;
      }
      default: {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        if (Object.keys(properties).length === 0) return depth === 0 || rnd.chance(0.5) ? {} : { note: randomText(0, 10), n: rnd.int(0, 9) };
        const required = new Set((schema.required ?? []) as string[]);
        const out: Record<string, unknown> = {};
        for (const [key, sub] of Object.entries(properties)) {
          if (key === 'children' && depth > 2) continue;
          if (required.has(key)) out[key] = valid(op, sub, key, depth + 1, clean);
          else if (clean ? !(depth === 0 && CLEAN_OMITS.has(key)) && rnd.chance(0.35) : rnd.chance(0.35))
            out[key] = valid(op, sub, key, depth + 1, clean);
        }
        // updateTask wants something to change besides the id
        const optional = Object.keys(properties).filter((key) => !(key in out) && !(depth === 0 && CLEAN_OMITS.has(key)));
        while (clean && Object.keys(out).length < Number(schema.minProperties ?? 0) && optional.length) {
          const key = optional.splice(rnd.int(0, optional.length - 1), 1)[0]!;
          out[key] = valid(op, properties[key]!, key, depth + 1, clean);
        }
        return out;
      }
    }
  };

  /** The whole input of an operation (path, query and body together, as MCP takes it). */
  const input = (op: AnyOperation, clean: boolean): Record<string, unknown> => {
    const args = valid(op, op.input, 'input', 0, clean) as Record<string, unknown>;
    // Pairs that exist, for the operations that undo them.
    if (clean && op.name === 'removeDependency' && known.dependencies.length) [args.id, args.dependsOn] = rnd.pick(known.dependencies);
    if (clean && op.name === 'unassignRole' && known.assigned.length) [args.name, args.taskId] = rnd.pick(known.assigned);
    if (clean && op.name === 'unlinkTasks' && known.links.length) [args.id, args.kind, args.target] = rnd.pick(known.links);
    // A second task of the same project, so links and moves can succeed.
    const partner = ({ addDependency: 'dependsOn', moveTask: 'parentId', findDependencyPath: 'to', linkTasks: 'target' } as Record<string, string>)[
      op.name
    ];
    if (clean && partner && typeof args.id === 'string') {
      const project = known.projectOf.get(args.id);
      const others = known.tasks.filter((t) => t !== args.id && known.projectOf.get(t) === project);
      if (others.length) args[partner] = rnd.pick(others);
    }
    // A file the importers accept: no schema can say what a tasks.json or an issues.jsonl holds.
    if (clean && op.name === 'importTaskmaster') {
      const n = rnd.int(1, 1e6);
      args.content = {
        fuzz: {
          tasks: [
            { id: 1, title: `fuzz ${n}`, dependencies: [] },
            { id: 2, title: `fuzz ${n} next`, dependencies: [1] },
          ],
        },
      };
      delete args.tag;
    }
    if (clean && op.name === 'importBeads') args.content = `{"id":"fz-${rnd.int(1, 1e6)}","title":"fuzz issue","status":"open","priority":2}\n`;
    if (clean && op.name === 'revokeToken') {
      const holders = [...known.jtis].filter(([, jtis]) => jtis.length > 0);
      if (holders.length) args.pluginId = rnd.pick(holders)[0];
    }
    if (op.name === 'revokeToken' && typeof args.pluginId === 'string') {
      const jtis = known.jtis.get(args.pluginId) ?? [];
      if (clean || rnd.chance(0.5)) args.jti = jtis.length ? rnd.pick(jtis) : 'no-such-token';
    }
    return args;
  };

  /** Something the schema probably refuses. */
  const mutant = (): unknown =>
    rnd.pick([
      () => rnd.pick(WRONG_TYPES),
      () => 'x'.repeat(rnd.pick([201, 5000, 70_000])),
      () => rnd.pick(UNICODE),
      () => ({ a: { b: { c: [1, { d: [null, { e: 'deep' }] }] } } }),
      () => Array.from({ length: rnd.int(50, 1200) }, (_, i) => i),
      () => null,
    ])();

  const mutateObject = (value: Record<string, unknown>, schema: Schema): Record<string, unknown> => {
    const out = { ...value };
    const keys = Object.keys(out);
    switch (rnd.int(0, 3)) {
      case 0:
        if (keys.length) out[rnd.pick(keys)] = mutant();
        break;
      case 1:
        // defineProperty, so `__proto__` is an own key that JSON carries, as a hostile client would send it
        Object.defineProperty(out, rnd.pick(['extra', '__proto__', 'constructor', 'id', 'status', 'version', randomText(1, 8)]), {
          value: mutant(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        break;
      case 2:
        if (keys.length) delete out[rnd.pick(keys)];
        break;
      default: {
        const names = Object.keys((schema.properties ?? {}) as object);
        if (names.length) out[rnd.pick(names)] = mutant();
      }
    }
    return out;
  };

  return { input, mutant, mutateObject, randomText };
};

/** Counts per operation and surface, for the assertions and the closing table. */
export type Tally = { sent: number; ok: number; c4xx: number; c5xx: number };
export const tally = (): Tally => ({ sent: 0, ok: 0, c4xx: 0, c5xx: 0 });
export const count = (t: Tally, status: number): void => {
  t.sent += 1;
  if (status >= 200 && status < 300) t.ok += 1;
  else if (status >= 500) t.c5xx += 1;
  else if (status >= 400) t.c4xx += 1;
};

/** A Markdown table of the figures: one row per operation, REST and MCP side by side, totals last. */
export const closingTable = (seed: number, names: readonly string[], rest: ReadonlyMap<string, Tally>, mcp: ReadonlyMap<string, Tally>): string => {
  const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const sum = (m: ReadonlyMap<string, Tally>) =>
    [...m.values()].reduce((a, t) => ({ sent: a.sent + t.sent, ok: a.ok + t.ok, c4xx: a.c4xx + t.c4xx, c5xx: a.c5xx + t.c5xx }), tally());
  const cells = (t: Tally | undefined) => [t?.sent ?? 0, t?.ok ?? 0, t?.c4xx ?? 0, t?.c5xx ?? 0];
  return [
    `Catalog fuzz, seed ${seed}`,
    row(['operation', 'REST requests', '2xx', '4xx', '5xx', 'MCP calls', 'ok', '4xx', '5xx']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...names.map((n) => row([n, ...cells(rest.get(n)), ...cells(mcp.get(n))])),
    row(['**all**', ...cells(sum(rest)), ...cells(sum(mcp))]),
  ].join('\n');
};
