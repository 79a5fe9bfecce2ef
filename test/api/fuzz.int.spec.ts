import { expect } from 'chai';
import { startVectorApp, vectorsCaughtUp } from '../queries/search/support.js';
import { MIN_OK, startFuzz, type FuzzRun } from '../support/fuzzRun.js';
import { api, type TestApp } from '../support/testApp.js';

/**
 * Every catalog operation, over REST and over MCP, with seeded random input: clean requests built from what
 * exists (so handlers run and must answer 2xx) mixed with hostile ones (wrong types, garbage bodies, bad
 * headers, no token). The engine is test/support/fuzzRun.ts; test/soak/fuzz.soak.ts runs it at a larger size.
 */

const SEED = Number(process.env.VESPERA_FUZZ_SEED ?? 20260101);
const REQUESTS = 1500;
const CALLS = 1200;

describe('The operation catalog under seeded random input (REST and MCP)', function () {
  this.timeout(240_000);
  let app: TestApp;
  let fuzz: FuzzRun;

  before(async () => {
    app = await startVectorApp();
    fuzz = await startFuzz(app);
  });

  after(async () => {
    if (fuzz) process.stderr.write(`\n${fuzz.table(SEED)}\n\n`);
    await app?.close();
  });

  it(`REST: never 5xx, problem+json with a code for every 4xx, and at least ${MIN_OK} × 2xx per operation, over ${REQUESTS} requests (seed ${SEED})`, async () => {
    const started = Date.now();
    await fuzz.fuzzRest(REQUESTS, SEED);
    // Health once the fuzzer has put back what it stopped: a stopped auto_embedding rightly leaves the vectors behind.
    const admin = { authorization: `Bearer ${app.adminToken}` };
    expect((await api(app.baseUrl, 'POST', '/api/v1/services/auto_embedding/start', undefined, admin)).status).to.equal(200);
    await vectorsCaughtUp(app);
    const health = await api(app.baseUrl, 'GET', '/health', undefined, admin);
    expect(health.status).to.equal(200);
    expect(health.body.status, JSON.stringify(health.body)).to.equal('ok');
    // Bounded loosely: clean rebuilds wait for the job before them, and the machine may be shared.
    expect(Date.now() - started, 'REST fuzz run took too long').to.be.below(180_000);
    const { restViolations, summary, starved, rest } = fuzz;
    expect(restViolations, `${restViolations.length} bad answers, e.g.:\n    ${summary(restViolations)}`).to.deep.equal([]);
    expect(starved(rest), 'operations the fuzzer hardly reached (2xx answers of requests sent)').to.deep.equal([]);
  });

  it(`MCP: never a 5xx refusal or a protocol error, a code on every refusal, and at least ${MIN_OK} successes per tool, over ${CALLS} calls (seed ${SEED})`, async () => {
    const started = Date.now();
    await fuzz.fuzzMcp(CALLS, SEED + 1);
    expect(Date.now() - started, 'MCP fuzz run took too long').to.be.below(120_000);
    const { mcpViolations, summary, starved, mcp } = fuzz;
    expect(mcpViolations, `${mcpViolations.length} bad answers, e.g.:\n    ${summary(mcpViolations)}`).to.deep.equal([]);
    expect(starved(mcp), 'tools the fuzzer hardly reached (successes of calls made)').to.deep.equal([]);
  });
});
