import { expect } from 'chai';
import { startVectorApp, vectorsCaughtUp } from '../queries/search/support.js';
import { startFuzz, type FuzzRun } from '../support/fuzzRun.js';
import { api, type TestApp } from '../support/testApp.js';
import { knob, report } from './support.js';

/**
 * The catalog fuzzer (test/support/fuzzRun.ts, the engine of test/api/fuzz.int.spec.ts) at soak size: SOAK_FUZZ_REQUESTS
 * (10,000) requests generated from the operation catalog, half over REST and half as MCP tool calls through the SDK
 * Client, on one app with vectors on. No 5xx, and every refusal a problem+json (over MCP an isError result) with a code.
 */

const TOTAL = knob('SOAK_FUZZ_REQUESTS', 10_000);
const SEED = Number(process.env.VESPERA_FUZZ_SEED ?? 20261206);

describe('Endurance: fuzzed requests from the catalog over REST and MCP', function () {
  this.timeout(TOTAL * 200 + 180_000);
  let app: TestApp;
  let fuzz: FuzzRun;
  const took = { rest: 0, mcp: 0 };

  before(async () => {
    app = await startVectorApp();
    fuzz = await startFuzz(app);
    let at = Date.now();
    await fuzz.fuzzRest(Math.ceil(TOTAL / 2), SEED);
    took.rest = Date.now() - at;
    at = Date.now();
    await fuzz.fuzzMcp(Math.floor(TOTAL / 2), SEED + 1);
    took.mcp = Date.now() - at;
    const admin = { authorization: `Bearer ${app.adminToken}` };
    expect((await api(app.baseUrl, 'POST', '/api/v1/services/auto_embedding/start', undefined, admin)).status).to.equal(200);
    await vectorsCaughtUp(app);
  });

  after(async () => {
    if (fuzz) {
      const sum = (tallies: FuzzRun['rest']) =>
        [...tallies.values()].reduce((n, t) => ({ sent: n.sent + t.sent, ok: n.ok + t.ok, c4xx: n.c4xx + t.c4xx, c5xx: n.c5xx + t.c5xx }), {
          sent: 0,
          ok: 0,
          c4xx: 0,
          c5xx: 0,
        });
      const row = (surface: string, tallies: FuzzRun['rest'], violations: number, ms: number) => {
        const t = sum(tallies);
        return {
          surface,
          requests: t.sent,
          '2xx': t.ok,
          '4xx': t.c4xx,
          '5xx': t.c5xx,
          'refusals without a code': violations,
          'req/s': t.sent / (ms / 1000),
        };
      };
      report('fuzz', `${TOTAL} fuzzed requests from the catalog (seed ${SEED})`, [
        row('REST', fuzz.rest, fuzz.restViolations.length, took.rest),
        row('MCP', fuzz.mcp, fuzz.mcpViolations.length, took.mcp),
      ]);
    }
    await app?.close();
  });

  it('answers no REST request with a 5xx, and every REST refusal is a problem+json with a code', () => {
    expect(fuzz.restViolations, `${fuzz.restViolations.length} bad answers, e.g.:\n    ${fuzz.summary(fuzz.restViolations)}`).to.deep.equal([]);
  });

  it('answers no MCP call with a protocol error or a 5xx refusal, and every refusal carries a code', () => {
    expect(fuzz.mcpViolations, `${fuzz.mcpViolations.length} bad answers, e.g.:\n    ${fuzz.summary(fuzz.mcpViolations)}`).to.deep.equal([]);
  });

  it('reaches every operation with 2xx answers on both surfaces', () => {
    expect(fuzz.starved(fuzz.rest), 'REST operations hardly reached').to.deep.equal([]);
    expect(fuzz.starved(fuzz.mcp), 'MCP tools hardly reached').to.deep.equal([]);
  });

  it('is healthy afterwards', async () => {
    const health = await api(app.baseUrl, 'GET', '/health', undefined, { authorization: `Bearer ${app.adminToken}` });
    expect(health.body.status, JSON.stringify(health.body)).to.equal('ok');
  });
});
