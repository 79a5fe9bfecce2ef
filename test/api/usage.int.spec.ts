import path from 'node:path';
import { expect } from 'chai';
import { buildReadModelAt } from '../../src/projections/sqlite/rebuild.js';
import { openReadModel } from '../../src/projections/sqlite/readModel.js';
import { getUsage } from '../../src/queries/usage.js';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';

/**
 * Usage accounting over real HTTP (issue 15 item 2): heartbeats and completions report tokens, cost and model;
 * the project's totals, and their breakdown by task, agent, role and model, are the sums of what was reported (so are
 * the dashboard's `usage` and the /metrics counters), and a read model rebuilt from the log answers the same.
 */

const ROLE = {
  name: 'usage_worker',
  description: 'A role for the usage specs.',
  capabilities: ['code_writing'],
  filePatterns: ['src/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 100,
  restrictions: { maxFileChanges: 5, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

type Report = { agent: string; inputTokens: number; outputTokens: number; costUsd: number; model: string };

describe('Usage accounting (GET /projects/:projectId/usage)', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const projectId = `usage-${Date.now().toString(36)}`;
  const reports: Report[] = [];
  const taskIds: string[] = [];

  before(async function () {
    this.timeout(30_000);
    app = await startTestApp();
    ok(await call('POST', '/roles', ROLE), 201);
    ok(await call('POST', '/projects', { id: projectId, name: 'Usage' }), 201);
    // Given three agents that each claim a task, heartbeat twice with usage and complete with usage.
    for (const [i, agent] of ['ada', 'bob', 'cy'].entries()) {
      const task = ok(await call('POST', '/tasks', { projectId, title: `Usage task ${i}` }), 201).body;
      taskIds.push(task.id);
      ok(await call('POST', `/tasks/${task.id}/claim`, { agent, role: ROLE.name }));
      for (const round of [1, 2]) {
        const usage = {
          inputTokens: 1000 * (i + 1) + round,
          outputTokens: 100 * round,
          costUsd: 0.01 * (i + round),
          model: round === 1 ? 'small' : 'large',
        };
        ok(await call('POST', `/tasks/${task.id}/heartbeat`, { agent, usage }));
        reports.push({ agent, ...usage });
      }
      const usage = { inputTokens: 7, outputTokens: 3, costUsd: 0.125, model: 'large' };
      ok(await call('POST', `/tasks/${task.id}/complete`, { agent, output: 'done', usage }));
      reports.push({ agent, ...usage });
    }
  });

  after(() => app?.close());

  const sum = (rows: readonly Report[]) => ({
    inputTokens: rows.reduce((n, r) => n + r.inputTokens, 0),
    outputTokens: rows.reduce((n, r) => n + r.outputTokens, 0),
    costUsd: Math.round(rows.reduce((n, r) => n + r.costUsd, 0) * 1e6) / 1e6,
  });

  describe('when agents reported usage on heartbeats and completion', () => {
    it('then the project totals equal the sum of everything reported', async () => {
      const answer = ok(await call('GET', `/projects/${projectId}/usage`)).body;
      expect(answer.totals).to.include(sum(reports));
      expect(answer.totals.seconds).to.be.at.least(0);
    });

    it('then the breakdown by agent, role and model sums each group', async () => {
      const byAgent = ok(await call('GET', `/projects/${projectId}/usage?by=agent`)).body;
      expect(byAgent.items.map((i: { key: string }) => i.key)).to.deep.equal(['ada', 'bob', 'cy']);
      for (const item of byAgent.items) expect(item).to.include(sum(reports.filter((r) => r.agent === item.key)));
      const byRole = ok(await call('GET', `/projects/${projectId}/usage?by=role`)).body;
      expect(byRole.items).to.have.length(1);
      expect(byRole.items[0]).to.include({ key: ROLE.name, ...sum(reports) });
      const byModel = ok(await call('GET', `/projects/${projectId}/usage?by=model`)).body;
      for (const item of byModel.items.filter((i: { key: string | null }) => i.key !== null)) {
        expect(item).to.include(sum(reports.filter((r) => r.model === item.key)));
      }
    });

    it('then the breakdown by task pages with a cursor and covers every task once', async () => {
      const first = ok(await call('GET', `/projects/${projectId}/usage?by=task&limit=2`)).body;
      expect(first.items).to.have.length(2);
      expect(first.nextCursor).to.be.a('string');
      const second = ok(await call('GET', `/projects/${projectId}/usage?by=task&limit=2&cursor=${first.nextCursor}`)).body;
      expect(second.nextCursor).to.equal(null);
      const keys = [...first.items, ...second.items].map((i: { key: string }) => i.key);
      expect([...keys].sort()).to.deep.equal([...taskIds].sort());
    });

    it('then the task dashboard of the project carries the same totals', async () => {
      const { totals } = ok(await call('GET', `/projects/${projectId}/usage`)).body;
      const dashboard = ok(await call('GET', `/tasks/dashboard?projectId=${projectId}`)).body;
      expect(dashboard.usage).to.deep.equal(totals);
      expect(dashboard.usage).to.include(sum(reports));
    });

    it('then /metrics exports the same sums per project, as counters', async () => {
      const text = ok(await api(app.baseUrl, 'GET', '/metrics')).body as string;
      const value = (name: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}{project="${projectId}"} `));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      };
      expect(text).to.include('# TYPE vespera_usage_input_tokens_total counter');
      const expected = sum(reports);
      expect(value('vespera_usage_input_tokens_total')).to.equal(expected.inputTokens);
      expect(value('vespera_usage_output_tokens_total')).to.equal(expected.outputTokens);
      expect(value('vespera_usage_cost_usd_total')).to.be.closeTo(expected.costUsd, 1e-9);
    });

    it('then a read model rebuilt from the log answers the same usage', async function () {
      this.timeout(30_000);
      await app.projector.waitFor(await app.store.headPosition(), 10_000);
      const aside = path.join(app.dataDir, 'usage-rebuild.db');
      await buildReadModelAt(app.store, aside);
      const fresh = openReadModel(aside);
      try {
        for (const by of ['task', 'agent', 'role', 'model'] as const) {
          expect(getUsage(fresh, projectId, { by, limit: 200 })).to.deep.equal(getUsage(app.readDb, projectId, { by, limit: 200 }));
        }
        expect(getUsage(fresh, projectId).totals).to.include(sum(reports));
      } finally {
        fresh.close();
      }
    });
  });

  describe('when the usage is invalid', () => {
    for (const [label, usage] of [
      ['negative tokens', { inputTokens: -1 }],
      ['fractional tokens', { outputTokens: 1.5 }],
      ['negative cost', { costUsd: -0.01 }],
      ['an over-long model', { model: 'm'.repeat(129) }],
      ['an unknown field', { tokens: 3 }],
    ] as const) {
      it(`then a heartbeat with ${label} is refused with 400 problem+json and nothing is recorded`, async () => {
        const before = ok(await call('GET', `/projects/${projectId}/usage`)).body.totals;
        const refused = await call('POST', `/tasks/${taskIds[0]}/heartbeat`, { agent: 'ada', usage });
        expect(refused.status, JSON.stringify(refused.body)).to.equal(400);
        expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(refused.body.code).to.be.a('string');
        expect(ok(await call('GET', `/projects/${projectId}/usage`)).body.totals).to.deep.equal(before);
      });
    }
  });

  describe('when the project does not exist', () => {
    it('then the answer is 404 PROJECT_NOT_FOUND', async () => {
      const missing = await call('GET', '/projects/no-such-project/usage');
      expect(missing.status).to.equal(404);
      expect(missing.body.code).to.equal('PROJECT_NOT_FOUND');
    });
  });
});
