import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** The operations a client names, from the types openapi-typescript writes (`vespera.ts`). */
const types = `import type { paths } from './vespera.js';

export type CreateTask = paths['/api/v1/tasks']['post'];
export type CreateTaskBody = CreateTask['requestBody']['content']['application/json'];
export type CreateTaskHeaders = NonNullable<CreateTask['parameters']['header']>;
export type CreatedTask = CreateTask['responses'][201]['content']['application/json'];
export type UpdateTask = paths['/api/v1/tasks/{id}']['patch'];
export type UpdateTaskBody = NonNullable<UpdateTask['requestBody']>['content']['application/json'];
export type UpdateTaskHeaders = NonNullable<UpdateTask['parameters']['header']>;
export type UpdatedTask = UpdateTask['responses'][200]['content']['application/json'];
export type Dashboard = paths['/api/v1/tasks/dashboard']['get'];
export type DashboardQuery = NonNullable<Dashboard['parameters']['query']>;
export type DashboardHeaders = NonNullable<Dashboard['parameters']['header']>;
export type DashboardAnswer = Dashboard['responses'][200]['content']['application/json'];
`;

/** A client written against the types with plain fetch: create a task with metadata, update it with If-Match, read the dashboard. */
const client = `import type { CreateTaskBody, CreateTaskHeaders, CreatedTask, DashboardAnswer, DashboardHeaders, DashboardQuery, UpdateTaskBody, UpdateTaskHeaders, UpdatedTask } from './types.js';

const baseUrl = process.env.VESPERA_URL!;
const auth = { authorization: \`Bearer \${process.env.VESPERA_TOKEN!}\` };

const send = async <T>(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<{ body: T; headers: Headers }> => {
  const response = await fetch(baseUrl + url, {
    method,
    headers: { ...auth, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(\`\${method} \${url}: \${response.status} \${await response.text()}\`);
  return { body: (await response.json()) as T, headers: response.headers };
};

const body: CreateTaskBody = { title: 'Typed client', priority: 'high', tags: ['typed'], metadata: { source: 'openapi-typescript', attempt: 1, nested: { ok: true } } };
const headers: CreateTaskHeaders = { 'Idempotency-Key': 'typed-client-0001' };
const created = await send<CreatedTask>('POST', '/api/v1/tasks', headers, body);
const etag: string | null = created.headers.get('ETag');

const change: UpdateTaskBody = { metadata: { ...created.body.metadata, attempt: 2 } };
const guard: UpdateTaskHeaders = { 'If-Match': etag ?? '' };
const updated = await send<UpdatedTask>('PATCH', \`/api/v1/tasks/\${created.body.id}\`, guard, change);

const query: DashboardQuery = { projectId: updated.body.projectId };
const fresh: DashboardHeaders = { 'X-Vespera-Min-Position': updated.headers.get('X-Vespera-Position') ?? '0' };
const dashboard = await send<DashboardAnswer>('GET', \`/api/v1/tasks/dashboard?\${new URLSearchParams(query as Record<string, string>)}\`, fresh);
const pending: number = dashboard.body.byStatus.pending;
const high: number = dashboard.body.byPriority.high;

console.log(JSON.stringify({ id: created.body.id, etag, version: updated.body.version, metadata: updated.body.metadata, total: dashboard.body.total, pending, high }));
`;

/** Programs the types must refuse, each on the line marked `// refused`. */
const refused: Record<string, string> = {
  metadataOfTheWrongType: `const body: CreateTaskBody = { title: 'Typed client', metadata: 'not an object' }; // refused`,
  missingTitle: `const body: CreateTaskBody = { priority: 'high' }; // refused`,
  unknownPriority: `const body: CreateTaskBody = { title: 'Typed client', priority: 'urgent' }; // refused`,
  ifMatchOnCreate: `const headers: CreateTaskHeaders = { 'If-Match': 'W/"1"' }; // refused`,
  countAsText: `declare const dashboard: DashboardAnswer;\nconst pending: string = dashboard.byStatus.pending; // refused`,
  unknownStatusCount: `declare const dashboard: DashboardAnswer;\nconst done: number = dashboard.byStatus.done; // refused`,
};

/** The typed client docs/api.md shows (the first TypeScript block after "A typed client"). */
const manualExample = (): string => {
  const manual = fs.readFileSync(path.join(root, 'docs/api.md'), 'utf8');
  const example = /\*\*A typed client\.\*\*[\s\S]*?```ts\n([\s\S]*?)```/.exec(manual)?.[1];
  if (!example) throw new Error('docs/api.md shows no typed client');
  return example;
};

/** Each file's type errors, as `line: message`, checked together as one program against Node's types. */
const typeErrors = (dir: string, files: string[]): Map<string, { line: number; message: string }[]> => {
  const program = ts.createProgram(
    files.map((f) => path.join(dir, f)),
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules/@types')],
    },
  );
  const errors = new Map(files.map((f) => [f, [] as { line: number; message: string }[]]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file ? path.relative(dir, diagnostic.file.fileName) : '(program)';
    const line = diagnostic.file ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1 : 0;
    if (!errors.has(file)) errors.set(file, []);
    errors.get(file)!.push({ line, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n') });
  }
  return errors;
};

describe('A typed client generated from the OpenAPI document', function () {
  this.timeout(120_000);
  let app: TestApp;
  let dir: string;
  let generated: string;
  let errors: Map<string, { line: number; message: string }[]>;

  before(async () => {
    app = await startTestApp();
    const document = await api(app.baseUrl, 'GET', '/api/v1/openapi.json');
    expect(document.status).to.equal(200);
    generated = astToString(await openapiTS(document.body));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-client-'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(path.join(dir, 'vespera.ts'), generated);
    fs.writeFileSync(path.join(dir, 'types.ts'), types);
    fs.writeFileSync(path.join(dir, 'client.ts'), client);
    for (const [name, program] of Object.entries(refused)) {
      const uses = [...new Set(program.match(/\b(CreateTask\w*|DashboardAnswer)\b/g))].join(', ');
      fs.writeFileSync(path.join(dir, `${name}.ts`), `import type { ${uses} } from './types.js';\n${program}\nexport {};\n`);
    }
    fs.writeFileSync(path.join(dir, 'manual.ts'), `declare const baseUrl: string;\ndeclare const token: string;\n${manualExample()}\nexport {};\n`);
    errors = typeErrors(dir, ['client.ts', 'manual.ts', ...Object.keys(refused).map((name) => `${name}.ts`)]);
  });

  after(async () => {
    await app?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('when openapi-typescript writes the types', () => {
    it('types no object as one without keys (Record<string, never>) besides its own empty webhooks and $defs', () => {
      const own = /^export type (webhooks|\$defs) = Record<string, never>;$/gm;
      expect(generated.replace(own, '')).not.to.include('Record<string, never>');
    });

    it('types free-form metadata as an object of any values, and the dashboard counts per status', () => {
      expect(generated).to.match(/metadata\?: \{\s*\[key: string\]: unknown;\s*\}/);
      expect(generated).to.match(/byStatus: \{\s*pending: number;/);
    });
  });

  describe('when a client is written against them', () => {
    it('type-checks a client that creates a task with metadata, updates it with If-Match and reads the dashboard', () => {
      expect(errors.get('client.ts')).to.deep.equal([]);
      expect(errors.get('(program)') ?? []).to.deep.equal([]);
    });

    it('type-checks the client docs/api.md shows', () => {
      expect(errors.get('manual.ts')).to.deep.equal([]);
    });

    for (const name of Object.keys(refused)) {
      it(`refuses a client with ${name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}, on the line that has it`, () => {
        const marked = refused[name]!.split('\n').findIndex((line) => line.includes('// refused')) + 2;
        const found = errors.get(`${name}.ts`)!;
        expect(found, JSON.stringify(found)).to.have.length.above(0);
        expect(found.map((e) => e.line)).to.satisfy((lines: number[]) => lines.every((line) => line === marked));
      });
    }

    it('runs the client against the server: the task keeps its metadata and the dashboard counts it', async () => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(dir, 'client.ts')], {
        cwd: root,
        env: { ...process.env, VESPERA_URL: app.baseUrl, VESPERA_TOKEN: app.adminToken },
      });
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
      expect(out.etag).to.match(/^W\/"\d+"$/);
      expect(out.version).to.be.above(Number(/\d+/.exec(out.etag)![0]));
      expect(out.metadata).to.deep.equal({ source: 'openapi-typescript', attempt: 2, nested: { ok: true } });
      expect(out.total).to.be.at.least(1);
      expect(out.pending).to.be.at.least(1);
      expect(out.high).to.be.at.least(1);
      const stored = await api(app.baseUrl, 'GET', `/api/v1/tasks/${out.id}`);
      expect(stored.body.metadata).to.deep.equal(out.metadata);
    });
  });
});
