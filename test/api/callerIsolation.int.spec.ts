import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { api, type JsonResponse } from '../support/testApp.js';

/**
 * What one caller must never do to another, over real HTTP with two plugins: take over its lease, read the
 * answer behind its Idempotency-Key, slip a second request under a used key, or push a role past its
 * workload limit by claiming at the same moment.
 */

const ROLE = {
  name: 'narrow_coder',
  description: 'A coder role with room for two tasks at once.',
  capabilities: ['code_writing'],
  filePatterns: ['src/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 2,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

const WORKER_CAPABILITIES = ['task_creation', 'task_reading', 'task_modification'];

describe('Caller isolation', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-isolation-'));
  let app: App;
  let baseUrl = '';
  let admin = '';
  let tokenA = '';
  let tokenB = '';

  const start = async () => {
    const config = loadConfig({ VESPERA_LOG_LEVEL: 'silent' }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal' });
    app = await createApp(config, createLogger(config.logLevel));
    baseUrl = `http://127.0.0.1:${(await app.listen()).port}`;
    admin = fs.readFileSync(app.adminTokenFile, 'utf8').trim();
  };
  const as = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
  const call = (token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    api(baseUrl, method, `/api/v1${url}`, body, as(token, headers));
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const refused = (response: JsonResponse, status: number, code: string): void => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(response.body.code).to.equal(code);
  };
  const plugin = async (id: string): Promise<string> => {
    ok(await call(admin, 'POST', '/plugins', { id, name: id, type: 'agent', capabilities: WORKER_CAPABILITIES }), 201);
    return ok(await call(admin, 'POST', `/plugins/${id}/tokens`, {}), 201).body.token;
  };
  let projects = 0;
  const newProject = async () =>
    ok(await call(admin, 'POST', '/projects', { id: `iso-${++projects}`, name: `Isolation ${projects}` }), 201).body.id as string;
  const taskCount = async (projectId: string) => ok(await call(admin, 'GET', `/tasks?projectId=${projectId}&limit=200`)).body.items.length as number;

  before(async () => {
    await start();
    tokenA = await plugin('plugin-a');
    tokenB = await plugin('plugin-b');
    ok(await call(admin, 'POST', '/roles', ROLE), 201);
  });
  after(async () => {
    await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('when plugin A holds a lease', () => {
    let taskId = '';
    beforeEach(async () => {
      const projectId = await newProject();
      taskId = ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'A works on this' }), 201).body.id;
      ok(await call(tokenA, 'POST', `/tasks/${taskId}/claim`, { agent: 'agent1' }));
    });

    it('refuses plugin B completing it under the same agent name with 409 LEASE_NOT_HELD', async () => {
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/complete`, { agent: 'agent1', output: 'mine now' }), 409, 'LEASE_NOT_HELD');
      const task = ok(await call(admin, 'GET', `/tasks/${taskId}`)).body;
      expect(task).to.include({ status: 'in_progress', claimedBy: 'agent1' });
    });

    it('refuses plugin B heartbeating or releasing it with 409 LEASE_NOT_HELD', async () => {
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/heartbeat`, { agent: 'agent1' }), 409, 'LEASE_NOT_HELD');
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/release`, { agent: 'agent1' }), 409, 'LEASE_NOT_HELD');
    });

    it('refuses plugin B ending the claim through a status change with 409 LEASE_NOT_HELD, then taking the task', async () => {
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/status`, { status: 'pending' }), 409, 'LEASE_NOT_HELD');
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/claim`, { agent: 'agent2' }), 409, 'ALREADY_CLAIMED');
      const task = ok(await call(admin, 'GET', `/tasks/${taskId}`)).body;
      expect(task).to.include({ status: 'in_progress', claimedBy: 'agent1' });
    });

    it('refuses plugin B claiming it under the same agent name with 409 ALREADY_CLAIMED', async () => {
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/claim`, { agent: 'agent1' }), 409, 'ALREADY_CLAIMED');
    });

    it('lets plugin A complete its own claim', async () => {
      const done = ok(await call(tokenA, 'POST', `/tasks/${taskId}/complete`, { agent: 'agent1', output: 'done' })).body;
      expect(done.task.status).to.equal('completed');
    });

    it('refuses a forced release without admin with 403 MISSING_CAPABILITY', async () => {
      refused(await call(tokenB, 'POST', `/tasks/${taskId}/release`, { force: true }), 403, 'MISSING_CAPABILITY');
    });

    it('lets an administrator break the lease with force, recorded in the history', async () => {
      const task = ok(await call(admin, 'POST', `/tasks/${taskId}/release`, { force: true, reason: 'agent vanished' })).body;
      expect(task).to.include({ status: 'pending', claimedBy: null });
      const history = ok(await call(admin, 'GET', `/tasks/${taskId}/history`)).body.items as Array<{
        type: string;
        actor: string;
        changes: Record<string, unknown>;
      }>;
      const release = history.find((h) => h.type === 'TaskReleased')!;
      const adminId = ok(await call(admin, 'GET', '/plugins/me')).body.pluginId;
      expect(release.changes).to.include({ forced: true, forcedBy: adminId, agent: 'agent1' });
      expect(release.actor).to.equal(adminId);
      refused(await call(tokenA, 'POST', `/tasks/${taskId}/complete`, { agent: 'agent1' }), 409, 'NOT_CLAIMED');
    });
  });

  describe('when two plugins send the same Idempotency-Key', () => {
    it('gives plugin B its own answer, never plugin A’s task', async () => {
      const projectId = await newProject();
      const key = { 'Idempotency-Key': 'shared-key-0001' };
      const a = ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'Secret plan of A' }, key), 201).body;
      const b = ok(await call(tokenB, 'POST', '/tasks', { projectId, title: 'Secret plan of A' }, key), 201).body;
      expect(b.id).to.not.equal(a.id);
      expect(await taskCount(projectId)).to.equal(2);
    });
  });

  describe('when a caller reuses its key', () => {
    it('answers a resend of the same request with the first answer and appends nothing', async () => {
      const projectId = await newProject();
      const key = { 'Idempotency-Key': 'resend-key-0001' };
      const first = ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'Once', priority: 'high' }, key), 201);
      const second = ok(await call(tokenA, 'POST', '/tasks', { priority: 'high', title: 'Once', projectId }, key), 201);
      expect(second.body.id).to.equal(first.body.id);
      expect(await taskCount(projectId)).to.equal(1);
    });

    it('refuses the same key with another body with 422 IDEMPOTENCY_KEY_REUSED and drops nothing silently', async () => {
      const projectId = await newProject();
      const key = { 'Idempotency-Key': 'reused-key-0001' };
      ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'First request' }, key), 201);
      refused(await call(tokenA, 'POST', '/tasks', { projectId, title: 'Another request' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      refused(await call(tokenA, 'POST', '/projects', { name: 'Another operation' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(await taskCount(projectId)).to.equal(1);
    });

    it('refuses the same key for a request in another project (another stream)', async () => {
      const [p1, p2] = [await newProject(), await newProject()];
      const key = { 'Idempotency-Key': 'cross-stream-0001' };
      ok(await call(tokenA, 'POST', '/tasks', { projectId: p1, title: 'Here' }, key), 201);
      refused(await call(tokenA, 'POST', '/tasks', { projectId: p2, title: 'Here' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(await taskCount(p2)).to.equal(0);
    });

    it('still remembers the key after a restart', async () => {
      const projectId = await newProject();
      const key = { 'Idempotency-Key': 'restart-key-0001' };
      const first = ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'Before the restart' }, key), 201).body;
      await app.stop();
      await start();
      refused(await call(tokenA, 'POST', '/tasks', { projectId, title: 'After the restart' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      const again = ok(await call(tokenA, 'POST', '/tasks', { projectId, title: 'Before the restart' }, key), 201).body;
      expect(again.id).to.equal(first.id);
      expect(await taskCount(projectId)).to.equal(1);
    });
  });

  describe('when many agents claim for a role at its limit at once', () => {
    const readyTasks = async (projectId: string, n: number) => {
      for (let i = 0; i < n; i++)
        ok(await call(admin, 'POST', '/tasks', { projectId, title: `Work ${i}`, requiredCapabilities: ['code_writing'], files: ['src/x.ts'] }), 201);
    };
    const inProgress = async () => ok(await call(admin, 'GET', `/roles/workload?role=${ROLE.name}`)).body.items[0].inProgress as number;

    it('hands out no more claims than maxConcurrentTasks, across projects', async () => {
      const [p1, p2] = [await newProject(), await newProject()];
      await readyTasks(p1, 8);
      await readyTasks(p2, 8);
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          call(i % 2 ? tokenA : tokenB, 'POST', '/tasks/claim-next', { role: ROLE.name, agent: `agent-${i}`, projectId: i % 4 < 2 ? p1 : p2 }),
        ),
      );
      const claimed = answers.filter((r) => r.status === 200 && r.body.claimed === true);
      expect(claimed, JSON.stringify(answers.map((r) => [r.status, r.body.code]))).to.have.length(2);
      for (const r of answers.filter((x) => x.status !== 200)) {
        expect(r.status).to.equal(422);
        expect(r.body.code).to.equal('ROLE_VALIDATION_ERROR');
      }
      const running = ok(await call(admin, 'GET', `/tasks?role=${ROLE.name}&status=in_progress&limit=100`)).body.items;
      expect(running).to.have.length(2);
      expect(await inProgress()).to.equal(2);
    });
  });
});
