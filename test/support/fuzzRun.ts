import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { pathParams, type AnyOperation } from '../../src/api/catalog/operation.js';
import { CAPABILITIES } from '../../src/events/vocabulary.js';
import { connect, type Connected, type ToolError } from '../api/mcp/support.js';
import { vectorsCaughtUp } from '../queries/search/support.js';
import { closingTable, count, emptyKnown, GARBAGE_BODIES, generator, tally, wellFormed, type Known, type Tally } from './fuzz.js';
import { seeded } from './random.js';
import { api, type TestApp } from './testApp.js';

/**
 * The catalog fuzzer's engine (test/api/fuzz.int.spec.ts, and at a larger size test/soak/fuzz.soak.ts): every
 * catalog operation, over REST and over MCP, with seeded random input: clean requests built from what exists (so
 * handlers run and must answer 2xx) mixed with hostile ones (wrong types, garbage bodies, bad headers, no token).
 * Tokens are spent freely: a refresh or a revoke retires the token it hit, and the pool mints a new one, so one lost
 * token never silences the rest of the run.
 */

/** A role the fuzzer defines when a clean changeRole or retireRole finds none of its own left. */
const PREPARED_ROLE = {
  description: 'Defined by the fuzzer so that role changes reach their handler.',
  capabilities: ['code_writing'],
  filePatterns: ['**/*'],
  tools: ['read_file'],
  maxConcurrentTasks: 5,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};
/** Operations that need a lease the caller holds. */
const CLAIMED = new Set(['heartbeatTask', 'releaseTask', 'completeTask']);
/** Share of requests built clean (valid, naming existing things, a good token). */
const CLEAN = 0.55;
/** Each operation must be answered 2xx at least this often per surface, or the fuzzer stopped reaching it. */
export const MIN_OK = 3;
const POOL_SIZE = 4;

export type Violation = { request: string; status: number | string; body: string };

/** Plugin tokens the fuzzer may lose: minted in-process, replaced as soon as one stops working. */
class TokenPool {
  private generation = 0;
  private tokens: Array<{ token: string; jti: string }> = [];
  pluginId = '';
  minted = 0;

  constructor(
    private readonly app: TestApp,
    private readonly known: Known,
  ) {}

  async renew(): Promise<void> {
    this.pluginId = `fuzz-pool-${++this.generation}`;
    const meta = { actor: 'fuzz', tool: 'test', commandId: randomUUID() };
    await this.app.plugins.register({ pluginId: this.pluginId, name: this.pluginId, type: 'agent', capabilities: [...CAPABILITIES] }, meta);
    this.known.plugins.push(this.pluginId);
    // Leases are held by the plugin: the new one cannot heartbeat or complete what the old one claimed.
    this.known.claimed.length = 0;
    this.tokens = [];
    for (let i = 0; i < POOL_SIZE; i++) this.tokens.push(await this.mint());
  }

  private async mint(): Promise<{ token: string; jti: string }> {
    const jti = randomUUID();
    const recorded = await this.app.plugins.recordToken(
      { pluginId: this.pluginId, jti, capabilities: [...CAPABILITIES], expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
      { actor: 'fuzz', tool: 'test', commandId: randomUUID() },
    );
    await this.app.projector.waitFor(recorded.position, 5000);
    this.minted += 1;
    this.known.jtis.set(this.pluginId, [...(this.known.jtis.get(this.pluginId) ?? []), jti]);
    return { token: (await this.app.tokens.issue(this.pluginId, [...CAPABILITIES], 3600, jti)).token, jti };
  }

  pick(index: number): string {
    return this.tokens[index % this.tokens.length]!.token;
  }

  /** After an answer: replace what it spent. */
  async settle(
    op: AnyOperation,
    token: string | undefined,
    status: number,
    input: Record<string, unknown>,
    body: Record<string, unknown> | undefined,
  ): Promise<void> {
    const ok = status >= 200 && status < 300;
    const slot = this.tokens.findIndex((t) => t.token === token);
    const ours = input.pluginId === this.pluginId;
    if (ok && (op.name === 'revokePlugin' || op.name === 'changePluginCapabilities') && ours) return this.renew();
    if (slot < 0) return;
    if (ok && op.name === 'refreshToken' && typeof body?.token === 'string') {
      const old = this.tokens[slot]!.jti;
      this.tokens[slot] = { token: body.token, jti: String(body.jti) };
      this.known.jtis.set(this.pluginId, [...(this.known.jtis.get(this.pluginId) ?? []).filter((j) => j !== old), String(body.jti)]);
      return;
    }
    if (status === 401) this.tokens[slot] = await this.mint();
  }

  /** A revokeToken that hit one of ours. */
  async revoked(jti: unknown): Promise<void> {
    const slot = this.tokens.findIndex((t) => t.jti === jti);
    if (slot >= 0) this.tokens[slot] = await this.mint();
  }

  holds(token: string): boolean {
    return this.tokens.some((t) => t.token === token);
  }
}

/** The request a write just made, when it changed a project's tasks: the newest event of the log is its own (requests go one at a time). */
const rememberRequest = async (known: Known, app: TestApp, op: AnyOperation): Promise<void> => {
  if (op.kind !== 'command') return;
  const [event] = await app.store.readAll({ fromPosition: (await app.store.headPosition()) - 1, maxCount: 1 });
  if (!event?.streamId.startsWith('project-') || /^(TaskClaimed|LeaseExtended|TaskReleased|LeaseExpired|TaskCompleted)$/.test(event.type)) return;
  if (known.requests.at(-1) !== event.metadata.correlationId) known.requests.push(event.metadata.correlationId);
};

/** Learns from a 2xx answer what now exists, so later clean requests can name it. */
const learn = (known: Known, op: AnyOperation, input: Record<string, unknown>, body: Record<string, unknown>): void => {
  const drop = <T>(list: T[], match: (item: T) => boolean) => list.splice(0, list.length, ...list.filter((item) => !match(item)));
  switch (op.name) {
    case 'verifyReadModels':
    case 'rebuildReadModel':
      if (typeof body.id === 'string' && !known.jobs.includes(body.id)) known.jobs.push(body.id);
      break;
    case 'listAdminJobs':
      for (const item of (body.items ?? []) as Array<{ id?: unknown }>)
        if (typeof item.id === 'string' && !known.jobs.includes(item.id)) known.jobs.push(item.id);
      break;
    case 'listEvents':
      for (const item of (body.items ?? []) as Array<{ metadata?: { correlationId?: unknown } }>) {
        const id = item.metadata?.correlationId;
        if (typeof id === 'string' && !known.correlations.includes(id)) known.correlations.push(id);
      }
      break;
    case 'createTask':
      known.tasks.push(String(body.id));
      known.projectOf.set(String(body.id), String(body.projectId));
      break;
    case 'createTaskTree': {
      const ids = (body.taskIds ?? []) as string[];
      known.tasks.push(...ids);
      const project = (typeof input.parentId === 'string' && known.projectOf.get(input.parentId)) || String(input.projectId ?? 'default');
      for (const id of ids) known.projectOf.set(id, project);
      break;
    }
    case 'deleteTask': {
      const deleted = new Set((body.deleted ?? []) as string[]);
      drop(known.tasks, (t) => deleted.has(t));
      drop(known.claimed, (t) => deleted.has(t));
      drop(known.dependencies, ([a, b]) => deleted.has(a) || deleted.has(b));
      drop(known.links, ([a, , b]) => deleted.has(a) || deleted.has(b));
      drop(known.assigned, ([, t]) => deleted.has(t));
      break;
    }
    case 'revokePlugin':
      known.jtis.delete(String(input.pluginId));
      break;
    case 'claimTask':
    case 'claimNextTask': {
      const task = body.task as { id?: string } | null | undefined;
      if (task?.id && body.claimed !== false) known.claimed.push(task.id);
      break;
    }
    case 'completeTask':
    case 'releaseTask':
      drop(known.claimed, (t) => t === input.id);
      break;
    case 'addDependency':
      known.dependencies.push([String(input.id), String(input.dependsOn)]);
      break;
    case 'linkTasks':
      known.links.push([String(input.id), String(input.kind), String(input.target)]);
      break;
    case 'unlinkTasks':
      drop(known.links, ([a, k, b]) => a === input.id && k === input.kind && b === input.target);
      break;
    case 'removeDependency':
      drop(known.dependencies, ([a, b]) => a === input.id && b === input.dependsOn);
      break;
    case 'assignRole':
      known.assigned.push([String(input.name), String(input.taskId)]);
      break;
    case 'unassignRole':
      drop(known.assigned, ([r, t]) => r === input.name && t === input.taskId);
      break;
    case 'createProject':
      known.projects.push(String(body.id));
      break;
    case 'defineRole':
      known.roles.push(String(body.name));
      known.ownRoles.push(String(body.name));
      break;
    case 'retireRole':
      drop(known.roles, (r) => r === input.name);
      drop(known.ownRoles, (r) => r === input.name);
      break;
    case 'registerPlugin':
      known.plugins.push(String(body.id));
      break;
    case 'issueToken':
      known.jtis.set(String(body.pluginId), [...(known.jtis.get(String(body.pluginId)) ?? []), String(body.jti)]);
      break;
    default:
  }
};

/** Forgets what a refusal says no longer exists (expired leases, links removed by a recursive delete, …). */
const forget = (known: Known, op: AnyOperation, input: Record<string, unknown>, code: unknown): void => {
  const drop = <T>(list: T[], match: (item: T) => boolean) => list.splice(0, list.length, ...list.filter((item) => !match(item)));
  if (code === 'TASK_NOT_FOUND') drop(known.tasks, (t) => t === input.id || t === input.taskId);
  if (code === 'TASK_NOT_FOUND') drop(known.assigned, ([, t]) => t === input.taskId);
  if (code === 'NOT_CLAIMED' || code === 'LEASE_NOT_HELD' || code === 'LEASE_EXPIRED' || code === 'TASK_NOT_FOUND')
    drop(known.claimed, (t) => t === input.id);
  if (code === 'LINK_NOT_FOUND' || code === 'TASK_NOT_FOUND')
    drop(known.links, ([a, k, b]) => a === input.id && k === input.kind && b === input.target);
  if (code === 'DEPENDENCY_NOT_FOUND') drop(known.dependencies, ([a, b]) => a === input.id && b === input.dependsOn);
  if (code === 'ROLE_NOT_ASSIGNED') drop(known.assigned, ([r, t]) => r === input.name && t === input.taskId);
  if (code === 'ROLE_NOT_FOUND' || code === 'ROLE_RETIRED') drop(known.ownRoles, (r) => r === input.name);
  if (code === 'PLUGIN_REVOKED' || code === 'PLUGIN_NOT_FOUND') drop(known.plugins, (p) => p === input.pluginId);
  if (code === 'TOKEN_NOT_FOUND' && typeof input.pluginId === 'string')
    known.jtis.set(
      input.pluginId,
      (known.jtis.get(input.pluginId) ?? []).filter((j) => j !== input.jti),
    );
  if (op.name === 'revokeToken' && code === undefined && typeof input.pluginId === 'string')
    known.jtis.set(
      input.pluginId,
      (known.jtis.get(input.pluginId) ?? []).filter((j) => j !== input.jti),
    );
};

/** A fuzz run over one app: what it learnt, its token pool, its tallies and the bad answers it met. */
export const startFuzz = async (app: TestApp) => {
  const rest = new Map<string, Tally>();
  const mcp = new Map<string, Tally>();
  const restViolations: Violation[] = [];
  const mcpViolations: Violation[] = [];

  const known = emptyKnown();
  const pool = new TokenPool(app, known);
  await pool.renew();
  const admin = { authorization: `Bearer ${app.adminToken}` };
  known.roles.push(...((await api(app.baseUrl, 'GET', '/api/v1/roles', undefined, admin)).body.items as Array<{ name: string }>).map((r) => r.name));
  known.services.push(
    ...((await api(app.baseUrl, 'GET', '/api/v1/services', undefined, admin)).body.items as Array<{ name: string }>).map((s) => s.name),
  );
  const topics = [
    'Parse the configuration file',
    'Write the lexer',
    'Deploy the staging cluster',
    'Fix the flaky login test',
    'Cache search results',
  ];
  for (let i = 0; i < 30; i++) {
    const created = (await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `${topics[i % topics.length]} ${i}` }, admin)).body;
    known.tasks.push(created.id);
    known.projectOf.set(created.id, created.projectId);
  }
  for (let i = 0; i < 3; i++) {
    const role = {
      name: `fuzz_seed_${i}`,
      description: 'A role the fuzzer may change and retire.',
      capabilities: ['code_writing'],
      filePatterns: ['**'],
      tools: [],
      maxConcurrentTasks: 50,
      restrictions: { maxFileChanges: 100, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
    };
    expect((await api(app.baseUrl, 'POST', '/api/v1/roles', role, admin)).status).to.equal(201);
    known.roles.push(role.name);
    known.ownRoles.push(role.name);
  }
  await vectorsCaughtUp(app);
  for (const op of app.operations) {
    rest.set(op.name, tally());
    mcp.set(op.name, tally());
  }

  /**
   * A clean heartbeat, release or completion is sent for a task the pool holds, as an agent would send it: when the
   * pool holds none (a renewed pool holds no lease of the old one), it claims a pending task first, over REST.
   */
  const holdOne = async (op: AnyOperation, clean: boolean) => {
    // Likewise a clean change or retirement of a role names one this run defined: define one when none is left.
    if (clean && (op.name === 'changeRole' || op.name === 'retireRole') && known.ownRoles.length === 0) {
      const name = `fuzz_prepared_${known.roles.length}`;
      const role = { ...PREPARED_ROLE, name };
      const defined = await api(app.baseUrl, 'POST', '/api/v1/roles', role, { authorization: `Bearer ${app.adminToken}` });
      if (defined.status === 201) {
        known.roles.push(name);
        known.ownRoles.push(name);
      }
    }
    if (!clean || !CLAIMED.has(op.name) || known.claimed.length > 0) return;
    for (const id of known.tasks.slice(-20).reverse()) {
      const claimed = await api(
        app.baseUrl,
        'POST',
        `/api/v1/tasks/${encodeURIComponent(id)}/claim`,
        {},
        { authorization: `Bearer ${pool.pick(0)}` },
      );
      if (claimed.status === 200) {
        known.claimed.push(id);
        return;
      }
    }
  };

  /** `requests` seeded REST requests, one at a time. */
  const fuzzRest = async (requests: number, seed: number): Promise<void> => {
    const rnd = seeded(seed);
    const gen = generator(rnd, known);
    for (let i = 0; i < requests; i++) {
      const op = rnd.pick(app.operations);
      const clean = rnd.chance(CLEAN);
      // A clean rebuild waits for the one still running, as a careful administrator would (else 409 JOB_RUNNING).
      if (clean && op.name === 'rebuildReadModel') await app.jobs.idle();
      await holdOne(op, clean);
      const input = gen.input(op, clean);
      const method = !clean && rnd.chance(0.03) ? rnd.pick(['PUT', 'PATCH', 'DELETE', 'POST', 'GET']) : op.method.toUpperCase();
      let path = `/api/v1${op.path}`;
      const query = new URLSearchParams();
      const body: Record<string, unknown> = {};
      const inPath = new Set(pathParams(op.path));
      for (const [name, raw] of Object.entries(input)) {
        const value = !clean && rnd.chance(0.1) ? gen.mutant() : raw;
        const text = (
          Array.isArray(value) ? value.join(',') : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
        ).slice(0, 3000);
        if (inPath.has(name)) {
          const verbatim = /^%|^\.+$/.test(text);
          path = path.replace(`:${name}`, verbatim ? text : encodeURIComponent(wellFormed(text)) || '-');
        } else if (op.method === 'get' || op.method === 'delete') {
          // A position past the log head makes the read wait, then answer 503 by design.
          query.append(name, name === 'minPosition' && typeof value === 'number' && value > 0 ? 'not-a-position' : text);
        } else body[name] = raw;
      }
      if (!clean && rnd.chance(0.08))
        query.append(rnd.pick(['foo', 'limit', 'cursor', 'sort', 'status', 'fields', 'q', '__proto__', 'a[b]']), String(gen.mutant()).slice(0, 3000));
      const url = `${path}${query.size ? `?${query}` : ''}`;
      const token = pool.pick(rnd.int(0, POOL_SIZE - 1));
      const headers: Record<string, string> =
        clean || rnd.chance(0.95)
          ? { authorization: `Bearer ${token}` }
          : rnd.chance(0.5)
            ? {}
            : { authorization: rnd.pick(['Bearer x.y.z', 'Basic abc', 'Bearer']) };
      let sent: string | undefined;
      if (method !== 'GET' && (Object.keys(body).length || (op.method !== 'get' && op.method !== 'delete'))) {
        sent =
          !clean && rnd.chance(0.08) ? rnd.pick(GARBAGE_BODIES) : JSON.stringify(!clean && rnd.chance(0.4) ? gen.mutateObject(body, op.input) : body);
        headers['content-type'] =
          clean || rnd.chance(0.95) ? 'application/json' : rnd.pick(['text/plain', 'application/xml', 'application/merge-patch+json']);
      }
      if (!clean && rnd.chance(0.1)) headers['if-match'] = rnd.pick(['W/"1"', '"2"', 'W/"999999"', '*', 'garbage', 'W/"-1"', 'W/"1", W/"2"']);
      if (rnd.chance(0.05))
        headers['idempotency-key'] = clean
          ? `fuzz-key-${rnd.int(0, 1e9)}`
          : rnd.pick([`fuzz-key-${rnd.int(0, 1e9)}`, 'short', 'key with spaces and !!']);

      const response = await fetch(`${app.baseUrl}${url}`, { method, headers, ...(sent === undefined || method === 'GET' ? {} : { body: sent }) });
      const text = await response.text();
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
      // A request that left its operation's route (another method, a mangled path) is counted under it all the same.
      count(rest.get(op.name)!, response.status);
      if (process.env.FUZZ_DEBUG && clean && response.status >= 400)
        process.stderr.write(
          `clean ${op.name} ${response.status} ${String(parsed?.code)} ${String(parsed?.detail ?? parsed?.message ?? '').slice(0, 160)} :: ${url.slice(0, 100)} ${(sent ?? '').slice(0, 200)}\n`,
        );
      const problemOk = /^application\/problem\+json/.test(response.headers.get('content-type') ?? '') && typeof parsed?.code === 'string';
      if (response.status >= 500 || (response.status >= 400 && !problemOk)) {
        restViolations.push({
          request: `${method} ${url.slice(0, 160)} ${(sent ?? '').slice(0, 160)}`,
          status: response.status,
          body: text.slice(0, 300),
        });
      }
      const used = headers.authorization?.slice('Bearer '.length);
      const ok = response.status >= 200 && response.status < 300 && method === op.method.toUpperCase();
      if (ok && parsed) {
        learn(known, op, input, parsed);
        await rememberRequest(known, app, op);
        if (op.name === 'revokeToken') await pool.revoked(input.jti);
      }
      if (clean) forget(known, op, input, ok ? undefined : parsed?.code);
      await pool.settle(op, used, ok || response.status >= 300 ? response.status : 400, input, parsed);
    }
  };

  /** `calls` seeded MCP tool calls, one at a time, through the SDK Client (one per token of the pool). */
  const fuzzMcp = async (calls: number, seed: number): Promise<void> => {
    const rnd = seeded(seed);
    const gen = generator(rnd, known);
    const clients = new Map<string, Connected>();
    const clientFor = async (token: string) => {
      if (!clients.has(token)) clients.set(token, await connect(app, { token }));
      return clients.get(token)!;
    };
    try {
      for (let i = 0; i < calls; i++) {
        const op = rnd.pick(app.operations);
        const clean = rnd.chance(CLEAN);
        if (clean && op.name === 'rebuildReadModel') await app.jobs.idle();
        await holdOne(op, clean);
        const input = gen.input(op, clean);
        // As a real transport would: the SDK's in-memory pair passes objects by reference, not JSON.
        const args = JSON.parse(JSON.stringify(clean || rnd.chance(0.6) ? input : gen.mutateObject(input, op.input))) as Record<string, unknown>;
        const token = pool.pick(rnd.int(0, POOL_SIZE - 1));
        const { client } = await clientFor(token);
        let status: number;
        let result: CallToolResult | undefined;
        const request = `${op.tool} ${JSON.stringify(args).slice(0, 240)}`;
        try {
          result = (await client.callTool({ name: op.tool, arguments: args })) as CallToolResult;
          const error = (result._meta as Record<string, ToolError> | undefined)?.['vespera/error'];
          status = result.isError ? (error?.status ?? 0) : 200;
          if (result.isError && (typeof error?.code !== 'string' || !(status >= 400 && status < 500))) {
            mcpViolations.push({ request, status: status || 'isError without a code', body: JSON.stringify(result.content).slice(0, 300) });
          }
        } catch (error) {
          status = 599;
          mcpViolations.push({ request, status: 'protocol error', body: String((error as Error).message).slice(0, 300) });
        }
        count(mcp.get(op.name)!, status === 0 ? 500 : status);
        const body = result?.structuredContent as Record<string, unknown> | undefined;
        if (status === 200 && body) {
          learn(known, op, args, body);
          await rememberRequest(known, app, op);
          if (op.name === 'revokeToken') await pool.revoked(args.jti);
        }
        const code = (result?._meta as Record<string, ToolError> | undefined)?.['vespera/error']?.code;
        if (clean) forget(known, op, args, code);
        if (process.env.FUZZ_DEBUG && clean && code) process.stderr.write(`mcp ${op.name} ${status} ${code} ${request.slice(0, 200)}\n`);
        await pool.settle(op, token, status, args, body);
        for (const [held, connected] of clients) {
          if (pool.holds(held)) continue;
          clients.delete(held);
          await connected.close();
        }
      }
    } finally {
      for (const connected of clients.values()) await connected.close();
    }
  };

  const summary = (violations: Violation[]) => {
    const kinds = new Map<string, Violation>();
    for (const v of violations) kinds.set(`${v.request.split(' ').slice(0, 2).join(' ').replace(/\?.*/, '').slice(0, 60)} → ${v.status}`, v);
    return [...kinds.values()]
      .slice(0, 25)
      .map((v) => `${v.status} ← ${v.request}\n      ${v.body}`)
      .join('\n    ');
  };
  const starved = (tallies: Map<string, Tally>) => [...tallies].filter(([, t]) => t.ok < MIN_OK).map(([name, t]) => `${name}: ${t.ok} of ${t.sent}`);

  return {
    known,
    pool,
    rest,
    mcp,
    restViolations,
    mcpViolations,
    fuzzRest,
    fuzzMcp,
    summary,
    starved,
    table: (seed: number) =>
      `${closingTable(
        seed,
        app.operations.map((o) => o.name),
        rest,
        mcp,
      )}\n  tokens minted for the pool: ${pool.minted}`,
  };
};

export type FuzzRun = Awaited<ReturnType<typeof startFuzz>>;
