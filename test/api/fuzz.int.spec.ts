import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

type Schema = Record<string, unknown>;
type Parameter = { name: string; in: 'path' | 'query'; required: boolean; schema: Schema };
type Operation = { method: string; path: string; parameters: Parameter[]; body?: Schema };
type Violation = { request: string; status: number; body: string };

const SEED = Number(process.env.VESPERA_FUZZ_SEED ?? 20260101);
const REQUESTS = 1500;

/** mulberry32: a small seeded PRNG, so every run sends the same requests. */
const prng = (seed: number) => {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
};

const UNICODE = ['ñandú', '漢字テスト', '🙂🚀', '\u0000', '\ud800', 'ǅ', 'ＡＢＣ', '\u202eevil', 'a\nb\tc', 'Ω≈ç√', '"quoted"', "'; DROP TABLE tasks; --", '<script>'];
const WRONG_TYPES: unknown[] = [123, -1, 1.5, true, false, 'text', [], [1, 'a'], {}, { a: 1 }, null, 1e308];
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (text: string) => text.replace(LONE_SURROGATE, '\ufffd');
const GARBAGE_BODIES = ['{', '{"title":', 'null', '"string"', '42', '[]', '[{"title":"x"}]', '{"title":"x",}', '\u0000\u0001', '{{}}', 'title=x', '{"a":1}{"b":2}'];

describe('Tasks API under random input', function () {
  this.timeout(120_000);
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
  });

  after(() => app?.close());

  it(`never answers 5xx, always problem+json with a code for 4xx, over ${REQUESTS} seeded requests (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const doc = (await api(app.baseUrl, 'GET', '/api/v1/openapi.json')).body;
    const components = doc.components.schemas as Record<string, Schema>;
    const operations: Operation[] = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []) as Parameter[],
        body: (op.requestBody as { content: Record<string, { schema: Schema }> } | undefined)?.content['application/json']?.schema,
      })),
    );
    expect(operations.length).to.be.greaterThan(10);

    const taskIds: string[] = [];
    const projectIds: string[] = ['default'];
    const resolve = (schema: Schema): Schema =>
      typeof schema.$ref === 'string' ? resolve(components[schema.$ref.replace('#/components/schemas/', '')] ?? {}) : schema;

    const randomText = (min: number, max: number) => {
      const length = rnd.int(min, Math.max(min, Math.min(max, 24)));
      let text = '';
      while (text.length < length) text += rnd.chance(0.1) ? rnd.pick(UNICODE) : rnd.pick(['a', 'b', 'x', 'task', ' ', '-', '_', '7', 'Z']);
      return text.slice(0, Math.max(length, min));
    };
    const randomId = (): string =>
      rnd.pick([
        () => (taskIds.length ? rnd.pick(taskIds) : 'none-yet'),
        () => (taskIds.length ? rnd.pick(taskIds) : 'none-yet'),
        () => `id-${rnd.int(0, 1e9)}`,
        () => rnd.pick(UNICODE),
        () => 'x'.repeat(rnd.pick([65, 500, 3000])),
        () => rnd.pick(['dashboard', 'ready', 'tree', '..', '.', '%zz', '%E0%A4%A', '-', '_']),
      ])();

    /** A value the schema accepts, most of the time. */
    const valid = (raw: Schema, name: string, depth: number): unknown => {
      const schema = resolve(raw);
      if (Array.isArray(schema.enum)) return rnd.pick(schema.enum);
      const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'object'];
      const type = rnd.pick(types as string[]);
      const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
      const max = typeof schema.maximum === 'number' ? schema.maximum : min + 50;
      switch (type) {
        case 'null':
          return null;
        case 'boolean':
          return rnd.chance(0.5);
        // A position past the log head waits for the read model and then answers 503 by design.
        case 'integer':
          return name === 'minPosition' ? 0 : rnd.int(min, Math.min(max, min + 50));
        case 'number':
          return Math.round(rnd.next() * Math.min(max, 1000) * 100) / 100;
        case 'string':
          if (name === 'projectId' || name === 'id' && schema.pattern === '^[a-z0-9][a-z0-9_-]*$') return rnd.chance(0.7) ? rnd.pick(projectIds) : `proj-${rnd.int(0, 99)}`;
          if (schema.pattern === '^[A-Za-z0-9_-]+$') return randomId();
          if (name === 'cursor') return rnd.chance(0.5) ? randomText(1, 20) : Buffer.from(JSON.stringify(rnd.pick([[1, 2], ['a'], [null, 3], ['x', 'y']]))).toString('base64url');
          return randomText(Number(schema.minLength ?? 0), Number(schema.maxLength ?? 40));
        case 'array': {
          const items = (schema.items ?? {}) as Schema;
          return Array.from({ length: rnd.int(Number(schema.minItems ?? 0), 3) }, () => valid(items, name, depth + 1));
        }
        default: {
          const properties = (schema.properties ?? {}) as Record<string, Schema>;
          if (Object.keys(properties).length === 0) return rnd.chance(0.5) ? {} : { note: randomText(0, 10), n: rnd.int(0, 9) };
          const required = new Set((schema.required ?? []) as string[]);
          const out: Record<string, unknown> = {};
          for (const [key, sub] of Object.entries(properties)) {
            if (key === 'children' && depth > 2) continue;
            if (required.has(key) || rnd.chance(0.35)) out[key] = valid(sub, key, depth + 1);
          }
          return out;
        }
      }
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

    const mutateObject = (value: Record<string, unknown>, schema: Schema | undefined): Record<string, unknown> => {
      const out = { ...value };
      const keys = Object.keys(out);
      switch (rnd.int(0, 3)) {
        case 0:
          if (keys.length) out[rnd.pick(keys)] = mutant();
          break;
        case 1:
          out[rnd.pick(['extra', '__proto__', 'constructor', 'id', 'status', 'version', randomText(1, 8)])] = mutant();
          break;
        case 2:
          if (keys.length) delete out[rnd.pick(keys)];
          break;
        default: {
          const names = Object.keys((schema?.properties ?? {}) as object);
          if (names.length) out[rnd.pick(names)] = mutant();
        }
      }
      return out;
    };

    /** URLs stay under Node's 16 KB header limit (beyond it Node answers a bare 431 before any route runs). */
    const inUrl = (name: string, value: unknown): string => {
      // A position past the log head makes the read wait, then answer 503 by design.
      if (name === 'minPosition' && typeof value === 'number') return 'not-a-position';
      const text = Array.isArray(value) ? value.join(',') : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      return text.slice(0, 3000);
    };

    const buildRequest = () => {
      const op = rnd.pick(operations);
      let method = op.method;
      if (rnd.chance(0.03)) method = rnd.pick(['PUT', 'PATCH', 'DELETE', 'POST', 'GET']);
      let path = op.path;
      const query = new URLSearchParams();
      for (const param of op.parameters) {
        if (param.in === 'path') {
          const value = inUrl(param.name, rnd.chance(0.1) ? mutant() : valid(param.schema, param.name, 0));
          const raw = /^%|^\.+$/.test(value);
          path = path.replace(`{${param.name}}`, raw ? value : encodeURIComponent(wellFormed(value)));
        } else if (param.required || rnd.chance(0.3)) {
          query.append(param.name, inUrl(param.name, rnd.chance(0.15) ? mutant() : valid(param.schema, param.name, 0)));
        }
      }
      if (rnd.chance(0.08)) query.append(rnd.pick(['foo', 'limit', 'cursor', 'sort', 'status', 'fields', 'q', '__proto__', 'a[b]']), inUrl('extra', mutant()));
      const url = `${path}${query.size ? `?${query}` : ''}`;
      const token = (app as TestApp & { adminToken?: string }).adminToken;
      const headers: Record<string, string> = token && rnd.chance(0.97) ? { authorization: rnd.chance(0.98) ? `Bearer ${token}` : rnd.pick(['Bearer x.y.z', 'Basic abc', 'Bearer']) } : {};
      let body: string | undefined;
      if (op.body || (method !== 'GET' && rnd.chance(0.05))) {
        const value = op.body ? (valid(op.body, 'body', 0) as Record<string, unknown>) : {};
        body = rnd.chance(0.08) ? rnd.pick(GARBAGE_BODIES) : JSON.stringify(rnd.chance(0.4) ? mutateObject(value, op.body ? resolve(op.body) : undefined) : value);
        headers['content-type'] = rnd.chance(0.95) ? 'application/json' : rnd.pick(['text/plain', 'application/xml', 'application/merge-patch+json']);
      }
      if (rnd.chance(0.1)) headers['if-match'] = rnd.pick(['W/"1"', '"2"', 'W/"999999"', '*', 'garbage', 'W/"-1"', 'W/"1", W/"2"']);
      if (rnd.chance(0.05)) headers['idempotency-key'] = rnd.pick([`fuzz-key-${rnd.int(0, 1e9)}`, 'short', 'key with spaces and !!']);
      return { method, url, headers, body };
    };

    const violations: Violation[] = [];
    const started = Date.now();
    for (let i = 0; i < REQUESTS; i++) {
      const request = buildRequest();
      const response = await fetch(`${app.baseUrl}${request.url}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined || request.method === 'GET' ? {} : { body: request.body }),
      });
      const text = await response.text();
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
      const problemOk = /^application\/problem\+json/.test(response.headers.get('content-type') ?? '') && typeof parsed?.code === 'string';
      if (response.status >= 500 || (response.status >= 400 && !problemOk)) {
        violations.push({ request: `${request.method} ${request.url.slice(0, 160)} ${(request.body ?? '').slice(0, 160)}`, status: response.status, body: text.slice(0, 200) });
      }
      if (response.status === 201 && parsed) {
        if (typeof parsed.id === 'string' && typeof parsed.projectId === 'string') taskIds.push(parsed.id);
        else if (typeof parsed.id === 'string') projectIds.push(parsed.id);
        if (Array.isArray(parsed.taskIds)) taskIds.push(...(parsed.taskIds as string[]));
      }
    }

    const health = await api(app.baseUrl, 'GET', '/health');
    expect(health.status).to.equal(200);
    expect(health.body.status).to.equal('ok');
    expect(Date.now() - started, 'fuzz run took too long').to.be.below(60_000);
    const kinds = new Map<string, Violation>();
    for (const v of violations) kinds.set(`${v.request.split(' ')[0]} ${v.request.split(' ')[1]!.replace(/\?.*/, '').slice(0, 60)} → ${v.status}`, v);
    const report = [...kinds.values()].slice(0, 25).map((v) => `${v.status} ← ${v.request}\n      ${v.body}`).join('\n    ');
    expect(violations, `${violations.length} bad answers, e.g.:\n    ${report}`).to.deep.equal([]);
  });
});
