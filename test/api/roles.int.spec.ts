import { expect } from 'chai';
import { api, type JsonResponse, startTestApp, type TestApp } from '../support/testApp.js';

const DEFAULT_ROLES = ['generalist', 'frontend_developer', 'backend_developer', 'devops_engineer', 'data_analyst'];
const ENHANCED_ROLES = [
  'architect',
  'coder',
  'researcher',
  'tester',
  'reviewer',
  'documenter',
  'debugger',
  'orchestrator',
  'creative_coordinator',
  'ask_mode',
  'mcp_tool_tester',
];

type Role = {
  name: string;
  description: string;
  capabilities: string[];
  filePatterns: string[];
  tools: string[];
  maxConcurrentTasks: number;
  restrictions: { maxFileChanges: number; maxTaskDepth: number; requireApproval: boolean; timeLimitMinutes: number };
};
type Reason = { code: string; message: string } & Record<string, unknown>;

const customRole = (name: string, overrides: Partial<Role> = {}): Role => ({
  name,
  description: `Custom role ${name}`,
  capabilities: ['documentation'],
  filePatterns: ['docs/**'],
  tools: ['read_file', 'write_file'],
  maxConcurrentTasks: 2,
  restrictions: { maxFileChanges: 5, maxTaskDepth: 2, requireApproval: false, timeLimitMinutes: 60 },
  ...overrides,
});

describe('Roles API', () => {
  let app: TestApp;
  let serial = 0;

  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    api(app.baseUrl, method, `/api/v1${url}`, body, headers);
  const ok = (response: JsonResponse, status: number): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const expectProblem = (response: JsonResponse, status: number, code: string): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body.code).to.equal(code);
    return response;
  };
  const uniqueName = (label: string) => `${label}_${++serial}`;
  const define = async (role: Role) => ok(await call('POST', '/roles', role), 201).body;
  const createTask = async (body: Record<string, unknown>) => ok(await call('POST', '/tasks', { title: `task ${++serial}`, ...body }), 201).body;
  /** A chain of `depth + 1` tasks; answers the deepest one (at `depth`). */
  const taskAtDepth = async (depth: number, fields: Record<string, unknown> = {}) => {
    let parentId: string | undefined;
    let task: { id: string; depth: number } | undefined;
    for (let d = 0; d <= depth; d++) {
      task = await createTask({ ...(parentId ? { parentId } : {}), ...(d === depth ? fields : {}) });
      parentId = task!.id;
    }
    expect(task!.depth).to.equal(depth);
    return task!;
  };
  const assign = (role: string, taskId: string) => call('POST', `/roles/${role}/assign`, { taskId });
  const headPosition = async (): Promise<number> => (await api(app.baseUrl, 'GET', '/health')).body.eventStore.headPosition;
  /** Puts `count` fitting tasks in progress under `role`. */
  const fill = async (role: string, count: number, fields: Record<string, unknown>) => {
    for (let i = 0; i < count; i++) {
      const task = await createTask(fields);
      ok(await assign(role, task.id), 200);
      ok(await call('POST', `/tasks/${task.id}/status`, { status: 'in_progress' }), 200);
    }
  };
  const refusal = async (role: string, taskId: string): Promise<Reason[]> => {
    const response = expectProblem(await assign(role, taskId), 422, 'ROLE_VALIDATION_ERROR');
    expect(response.body).to.include({ taskId, role });
    return response.body.reasons as Reason[];
  };
  const codes = (reasons: Reason[]) => reasons.map((r) => r.code).sort();

  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  describe('GET /roles', () => {
    it('lists the 16 shipped roles (5 default + 11 enhanced), each marked as coming from its YAML file', async () => {
      const items = ok(await call('GET', '/roles'), 200).body.items as Array<Role & { source: { kind: string; file: string }; retired: boolean }>;
      const shipped = items.filter((r) => r.source.kind === 'yaml');
      expect(shipped.map((r) => r.name)).to.have.members([...DEFAULT_ROLES, ...ENHANCED_ROLES]);
      expect(shipped).to.have.length(16);
      for (const role of shipped) {
        expect(role.source.file, role.name).to.equal(DEFAULT_ROLES.includes(role.name) ? 'roles/default_roles.yaml' : 'roles/enhanced_roles.yaml');
        expect(role.retired).to.equal(false);
      }
    });
  });

  describe('GET /roles/:name', () => {
    it('answers a role with its capabilities, patterns, limits and restrictions', async () => {
      const coder = ok(await call('GET', '/roles/coder'), 200).body;
      expect(coder).to.include({ name: 'coder', maxConcurrentTasks: null, maxConcurrentTasksPerAgent: 2, retired: false });
      expect(coder.capabilities).to.have.members(['code_writing', 'code_analysis', 'testing']);
      expect(coder.filePatterns).to.include('src/**');
      expect(coder.restrictions).to.deep.equal({ maxFileChanges: 25, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 120 });
      expect(coder.source).to.deep.equal({ kind: 'yaml', file: 'roles/enhanced_roles.yaml' });
    });

    it('answers 404 ROLE_NOT_FOUND for an unknown role', async () => {
      expectProblem(await call('GET', '/roles/nobody'), 404, 'ROLE_NOT_FOUND');
    });
  });

  describe('custom roles', () => {
    describe('when a custom role is defined, changed and retired', () => {
      const name = 'release_scribe';
      it('defines it (201, source custom)', async () => {
        const role = await define(customRole(name));
        expect(role).to.include({ name, retired: false });
        expect(role.source).to.deep.equal({ kind: 'custom' });
      });

      it('changes it (200, new definition)', async () => {
        const changed = ok(await call('PUT', `/roles/${name}`, customRole(name, { maxConcurrentTasks: 7 })), 200).body;
        expect(changed.maxConcurrentTasks).to.equal(7);
        expect(ok(await call('GET', `/roles/${name}`), 200).body.maxConcurrentTasks).to.equal(7);
      });

      it('retires it: hidden from the list unless includeRetired', async () => {
        expect(ok(await call('DELETE', `/roles/${name}`), 200).body).to.include({ name, retired: true });
        const live = ok(await call('GET', '/roles'), 200).body.items.map((r: Role) => r.name);
        expect(live).to.not.include(name);
        const all = ok(await call('GET', '/roles?includeRetired=true'), 200).body.items.map((r: Role) => r.name);
        expect(all).to.include(name);
      });
    });

    it('needs role_management: a token without it gets 403', async () => {
      ok(
        await call('POST', '/plugins', { id: 'no-roles', name: 'no roles', type: 'agent', capabilities: ['task_reading', 'task_modification'] }),
        201,
      );
      const { token } = ok(await call('POST', '/plugins/no-roles/tokens', {}), 201).body;
      expectProblem(await call('POST', '/roles', customRole(uniqueName('denied')), { authorization: `Bearer ${token}` }), 403, 'MISSING_CAPABILITY');
    });

    it('refuses to change a YAML role with 409 ROLE_READ_ONLY', async () => {
      const response = expectProblem(await call('PUT', '/roles/coder', customRole('coder')), 409, 'ROLE_READ_ONLY');
      expect(response.body.file).to.equal('roles/enhanced_roles.yaml');
    });

    it('refuses to retire a YAML role with 409 ROLE_READ_ONLY', async () => {
      expectProblem(await call('DELETE', '/roles/tester'), 409, 'ROLE_READ_ONLY');
    });

    it('refuses a duplicate name with 409 ROLE_EXISTS (custom or YAML)', async () => {
      const name = uniqueName('twice');
      await define(customRole(name));
      expectProblem(await call('POST', '/roles', customRole(name)), 409, 'ROLE_EXISTS');
      expectProblem(await call('POST', '/roles', customRole('architect')), 409, 'ROLE_EXISTS');
    });

    for (const [label, pattern] of [
      ['an unclosed bracket', 'src/[abc'],
      ['an unclosed brace', 'src/**/{a,b'],
      ['a `..` segment', '../outside/**'],
      ['an absolute path', '/etc/**'],
    ] as const) {
      it(`refuses a malformed glob (${label}) with 400 INVALID_GLOB`, async () => {
        const response = expectProblem(
          await call('POST', '/roles', customRole(uniqueName('globs'), { filePatterns: ['docs/**', pattern] })),
          400,
          'INVALID_GLOB',
        );
        expect(response.body.patterns).to.deep.equal([pattern]);
      });
    }

    it('refuses an unknown capability with 400', async () => {
      expectProblem(await call('POST', '/roles', customRole(uniqueName('caps'), { capabilities: ['time_travel'] })), 400, 'VALIDATION_ERROR');
    });

    it('refuses to change a role that does not exist with 404', async () => {
      expectProblem(await call('PUT', '/roles/never_defined', customRole('never_defined')), 404, 'ROLE_NOT_FOUND');
    });
  });

  describe('assigning a role to a task', () => {
    describe('when the role fits', () => {
      it('assigns it (200, task.role set) and appends RoleAssigned', async () => {
        const task = await createTask({ requiredCapabilities: ['testing'], files: ['src/parser.test.ts'] });
        const before = await headPosition();
        const assigned = ok(await assign('tester', task.id), 200);
        expect(assigned.body.role).to.equal('tester');
        expect(await headPosition()).to.equal(before + 1);
      });
    });

    describe('when the role lacks a required capability', () => {
      it('refuses with MISSING_CAPABILITIES naming what is missing', async () => {
        const task = await createTask({ requiredCapabilities: ['deployment', 'documentation'] });
        const reasons = await refusal('reviewer', task.id);
        expect(codes(reasons)).to.deep.equal(['MISSING_CAPABILITIES']);
        expect(reasons[0]!.missing).to.deep.equal(['deployment']);
      });
    });

    describe('when the task touches files outside the role patterns', () => {
      it('refuses with FILES_OUTSIDE_PATTERNS listing those files only', async () => {
        const task = await createTask({ requiredCapabilities: ['documentation'], files: ['docs/guide.md', 'src/app.ts', '../../etc/passwd'] });
        const reasons = await refusal('documenter', task.id);
        expect(codes(reasons)).to.deep.equal(['FILES_OUTSIDE_PATTERNS']);
        expect(reasons[0]!.files).to.deep.equal(['src/app.ts', '../../etc/passwd']);
      });
    });

    describe('when the task is deeper than max_task_depth', () => {
      it('refuses with TASK_TOO_DEEP', async () => {
        const name = uniqueName('shallow');
        await define(customRole(name, { restrictions: { maxFileChanges: 5, maxTaskDepth: 2, requireApproval: false, timeLimitMinutes: 60 } }));
        const deep = await taskAtDepth(3);
        const reasons = await refusal(name, deep.id);
        expect(codes(reasons)).to.deep.equal(['TASK_TOO_DEEP']);
        expect(reasons[0]).to.include({ depth: 3, maxTaskDepth: 2 });
        const atLimit = await taskAtDepth(2);
        ok(await assign(name, atLimit.id), 200);
      });
    });

    describe('when the role already has max_concurrent_tasks in progress', () => {
      it('refuses with WORKLOAD_LIMIT', async () => {
        const name = uniqueName('busy');
        await define(customRole(name, { maxConcurrentTasks: 2 }));
        await fill(name, 2, { files: ['docs/a.md'] });
        const task = await createTask({ files: ['docs/b.md'] });
        const reasons = await refusal(name, task.id);
        expect(codes(reasons)).to.deep.equal(['WORKLOAD_LIMIT']);
        expect(reasons[0]).to.include({ inProgress: 2, limit: 2 });
      });

      it('still lets one of its in-progress tasks be assigned again (it is already counted)', async () => {
        const name = uniqueName('full');
        await define(customRole(name, { maxConcurrentTasks: 1 }));
        const task = await createTask({ files: ['docs/a.md'] });
        ok(await assign(name, task.id), 200);
        ok(await call('POST', `/tasks/${task.id}/status`, { status: 'in_progress' }), 200);
        ok(await assign(name, task.id), 200);
      });
    });

    describe('when the role is unknown', () => {
      it('refuses with UNKNOWN_ROLE alone', async () => {
        const task = await createTask({});
        const reasons = await refusal('no_such_role', task.id);
        expect(codes(reasons)).to.deep.equal(['UNKNOWN_ROLE']);
      });
    });

    describe('when the role is retired', () => {
      it('refuses with ROLE_RETIRED', async () => {
        const name = uniqueName('gone');
        await define(customRole(name));
        ok(await call('DELETE', `/roles/${name}`), 200);
        const task = await createTask({ files: ['docs/x.md'] });
        expect(codes(await refusal(name, task.id))).to.deep.equal(['ROLE_RETIRED']);
      });
    });

    describe('when several rules are broken at once', () => {
      it('lists every reason: capabilities, files, workload and depth', async () => {
        const name = uniqueName('strict');
        await define(customRole(name, { maxConcurrentTasks: 1 }));
        await fill(name, 1, { files: ['docs/a.md'] });
        const task = await taskAtDepth(3, { requiredCapabilities: ['deployment'], files: ['infra/main.tf'] });
        const reasons = await refusal(name, task.id);
        expect(codes(reasons)).to.deep.equal(['FILES_OUTSIDE_PATTERNS', 'MISSING_CAPABILITIES', 'TASK_TOO_DEEP', 'WORKLOAD_LIMIT']);
        for (const reason of reasons) expect(reason.message).to.be.a('string').with.length.above(0);
      });

      it('lists ROLE_RETIRED together with the other reasons', async () => {
        const name = uniqueName('retired_strict');
        await define(customRole(name));
        ok(await call('DELETE', `/roles/${name}`), 200);
        const task = await createTask({ requiredCapabilities: ['testing'], files: ['src/a.ts'] });
        expect(codes(await refusal(name, task.id))).to.deep.equal(['FILES_OUTSIDE_PATTERNS', 'MISSING_CAPABILITIES', 'ROLE_RETIRED']);
      });

      it('appends nothing when it refuses', async () => {
        const task = await createTask({ requiredCapabilities: ['deployment'] });
        const before = await headPosition();
        await refusal('reviewer', task.id);
        expect(await headPosition()).to.equal(before);
      });
    });

    describe('when the task does not exist', () => {
      it('answers 404 TASK_NOT_FOUND', async () => {
        expectProblem(await assign('coder', 'no-such-task'), 404, 'TASK_NOT_FOUND');
      });
    });
  });

  describe('POST /roles/:name/validate (dry run)', () => {
    it('returns the same reasons with valid:false and appends nothing', async () => {
      const name = uniqueName('dry');
      await define(customRole(name, { maxConcurrentTasks: 1 }));
      await fill(name, 1, { files: ['docs/a.md'] });
      const task = await taskAtDepth(3, { requiredCapabilities: ['testing'], files: ['src/a.ts'] });
      const refused = await refusal(name, task.id);
      const before = await headPosition();
      const dry = ok(await call('POST', `/roles/${name}/validate`, { taskId: task.id }), 200).body;
      expect(dry).to.include({ valid: false, role: name, taskId: task.id });
      expect(dry.reasons).to.deep.equal(refused);
      expect(await headPosition()).to.equal(before);
    });

    it('returns valid:true with no reasons for a fitting role, and appends nothing', async () => {
      const task = await createTask({ requiredCapabilities: ['code_writing'], files: ['src/index.ts'] });
      const before = await headPosition();
      expect(ok(await call('POST', '/roles/coder/validate', { taskId: task.id }), 200).body).to.deep.equal({
        valid: true,
        role: 'coder',
        taskId: task.id,
        reasons: [],
      });
      expect(await headPosition()).to.equal(before);
      expect(ok(await call('GET', `/tasks/${task.id}`), 200).body.role).to.equal(null);
    });

    it('reports UNKNOWN_ROLE for an unknown role', async () => {
      const task = await createTask({});
      const dry = ok(await call('POST', '/roles/phantom/validate', { taskId: task.id }), 200).body;
      expect(dry.valid).to.equal(false);
      expect(codes(dry.reasons)).to.deep.equal(['UNKNOWN_ROLE']);
    });
  });

  describe('POST /roles/:name/unassign', () => {
    it('takes the role off the task', async () => {
      const task = await createTask({ files: ['src/a.ts'] });
      ok(await assign('coder', task.id), 200);
      expect(ok(await call('POST', '/roles/coder/unassign', { taskId: task.id }), 200).body.role).to.equal(null);
    });

    it('refuses with 409 ROLE_NOT_ASSIGNED when another role holds the task', async () => {
      const task = await createTask({ files: ['src/a.ts'] });
      ok(await assign('coder', task.id), 200);
      expectProblem(await call('POST', '/roles/tester/unassign', { taskId: task.id }), 409, 'ROLE_NOT_ASSIGNED');
    });
  });

  describe('GET /roles/suitable', () => {
    it('ranks tester before the broader generalist for testing + code_writing on src/x.test.ts', async () => {
      const items = ok(await call('GET', '/roles/suitable?capabilities=testing,code_writing&files=src/x.test.ts&limit=10'), 200).body.items;
      const order = items.map((r: { role: string }) => r.role);
      expect(order.indexOf('tester')).to.be.at.least(0).and.below(order.indexOf('generalist'));
      const suitable = items.filter((r: { suitable: boolean }) => r.suitable).map((r: { role: string }) => r.role);
      expect(suitable).to.include.members(['tester', 'coder', 'debugger', 'backend_developer', 'generalist']);
      expect(suitable).to.not.include('reviewer');
      expect(suitable.indexOf('generalist')).to.be.above(suitable.indexOf('coder'));
    });

    it('puts roles that do not fit after those that do, with what they miss', async () => {
      const items = ok(await call('GET', '/roles/suitable?capabilities=deployment&files=infra/main.tf&limit=100'), 200).body.items;
      expect(items[0]).to.include({ role: 'devops_engineer', suitable: true });
      const reviewer = items.find((r: { role: string }) => r.role === 'reviewer');
      expect(reviewer).to.deep.include({ suitable: false, missingCapabilities: ['deployment'], filesOutside: ['infra/main.tf'] });
    });

    it('prefers free capacity among equally tight roles', async () => {
      const a = uniqueName('twin_a');
      const b = uniqueName('twin_b');
      await define(customRole(a, { capabilities: ['data_analysis'], maxConcurrentTasks: 3 }));
      await define(customRole(b, { capabilities: ['data_analysis'], maxConcurrentTasks: 3 }));
      await fill(a, 2, { files: ['docs/a.md'] });
      const items = ok(await call('GET', '/roles/suitable?capabilities=data_analysis&files=docs/x.md&limit=100'), 200).body.items;
      const order = items.map((r: { role: string }) => r.role);
      expect(order.indexOf(b)).to.be.below(order.indexOf(a));
      expect(items.find((r: { role: string }) => r.role === a)).to.include({ inProgress: 2, freeCapacity: 1 });
    });
  });

  describe('GET /roles/workload', () => {
    it('counts assigned and in-progress tasks, the limit and utilisation', async () => {
      const name = uniqueName('counted');
      await define(customRole(name, { maxConcurrentTasks: 4 }));
      await fill(name, 2, { files: ['docs/a.md'] });
      const waiting = await createTask({ files: ['docs/b.md'] });
      ok(await assign(name, waiting.id), 200);
      const done = await createTask({ files: ['docs/c.md'] });
      ok(await assign(name, done.id), 200);
      ok(await call('POST', `/tasks/${done.id}/status`, { status: 'completed' }), 200);
      const items = ok(await call(`GET`, `/roles/workload?role=${name}`), 200).body.items;
      expect(items).to.deep.equal([{ role: name, assigned: 3, inProgress: 2, limit: 4, perAgentLimit: null, utilisation: 0.5 }]);
    });

    it('lists every live role without a filter', async () => {
      const items = ok(await call('GET', '/roles/workload'), 200).body.items.map((r: { role: string }) => r.role);
      expect(items).to.include.members([...DEFAULT_ROLES, ...ENHANCED_ROLES]);
    });
  });
});
