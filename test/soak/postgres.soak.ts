import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { expect } from 'chai';
import { startServer, until, type Server } from '../support/serveProcess.js';
import { call, knob, ownPostgres, percentile, readLog, report, SOAK_ENV, stopServer, tempDir, verify } from './support.js';

/**
 * Two `vespera serve` nodes on the suite's own PostgreSQL (initdb in a temp directory, never the shared 5432), writing
 * on both while PostgreSQL restarts (`pg_ctl restart -m fast`) SOAK_PG_RESTARTS times. What a refusal says is a
 * problem+json with a code (503 EVENT_STORE_UNAVAILABLE by design); what was acknowledged is in the log afterwards, at
 * the position its answer named, and both nodes serve it.
 */

const RESTARTS = knob('SOAK_PG_RESTARTS', 3);
const BETWEEN_MS = knob('SOAK_PG_BETWEEN_MS', 4000);
const WRITERS_PER_NODE = 4;

type Ack = { id: string; position: number; node: string; round: number };

describe('Endurance: PostgreSQL restarted under two API nodes', function () {
  this.timeout(RESTARTS * 120_000 + 240_000);
  let pg: Awaited<ReturnType<typeof ownPostgres>>;
  const dirs = [tempDir('pg-a'), tempDir('pg-b')];
  let nodes: Server[] = [];
  let env: Record<string, string> = {};
  const acked: Ack[] = [];
  const refusals = new Map<string, number>();
  const badRefusals: string[] = [];
  const restartMs: number[] = [];
  const recoveryMs: number[] = [];
  const lost: string[] = [];
  const verified: Array<{ code: number; report: string }> = [];

  before(async () => {
    pg = await ownPostgres();
    env = {
      ...SOAK_ENV,
      VESPERA_EVENT_STORE: 'postgres',
      VESPERA_POSTGRES_URL: pg.url,
      VESPERA_JWT_SECRET: randomBytes(36).toString('base64url'),
      VESPERA_VECTORS: 'off',
    };
    nodes = [await startServer(dirs[0]!, env), await startServer(dirs[1]!, env)];

    let round = 0;
    let running = true;
    const writer = async (node: Server, label: string) => {
      for (let n = 0; running; n++) {
        const answer = await call(node, 'POST', '/tasks', { title: `pg soak ${label} ${n}` }).catch((error: Error) => ({
          status: 0,
          headers: new Headers(),
          body: { code: `transport: ${error.message}` },
        }));
        if (answer.status === 201) {
          acked.push({ id: answer.body.id as string, position: Number(answer.headers.get('x-vespera-position')), node: label, round });
          continue;
        }
        const code = `${answer.status} ${String(answer.body?.code)}`;
        refusals.set(code, (refusals.get(code) ?? 0) + 1);
        const problem = /^application\/problem\+json/.test(answer.headers.get('content-type') ?? '') && typeof answer.body?.code === 'string';
        if (!problem) badRefusals.push(`${label}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const load = nodes.flatMap((node, i) => Array.from({ length: WRITERS_PER_NODE }, (_, w) => writer(node, `${'AB'[i]}${w}`)));
    for (round = 1; round <= RESTARTS; round++) {
      await new Promise((r) => setTimeout(r, BETWEEN_MS));
      const restarting = performance.now();
      await pg.restart();
      restartMs.push(performance.now() - restarting);
      const ackedBefore = acked.length;
      const back = performance.now();
      await until('both nodes to acknowledge writes again', 60_000, async () =>
        new Set(acked.slice(ackedBefore).map((a) => a.node[0])).size === 2 ? true : undefined,
      );
      recoveryMs.push(performance.now() - back);
    }
    await new Promise((r) => setTimeout(r, BETWEEN_MS));
    running = false;
    await Promise.all(load);

    const head = Math.max(...acked.map((a) => a.position));
    for (const node of nodes) {
      const log = await readLog(node, 1);
      for (const ack of acked) {
        const event = log.get(ack.position);
        if (event?.type !== 'TaskCreated' || event.data.taskId !== ack.id)
          lost.push(`${ack.node} ${ack.id} @${ack.position}: ${event?.type} ${String(event?.data.taskId)}`);
      }
      const newest = acked.at(-1)!;
      const read = await call(node, 'GET', `/tasks/${newest.id}`, undefined, { 'x-vespera-min-position': String(head) });
      if (read.status !== 200) lost.push(`${node.baseUrl} does not serve ${newest.id}: ${read.status}`);
    }
    for (const dir of dirs) verified.push(await verify(dir, { VESPERA_EVENT_STORE: 'postgres', VESPERA_POSTGRES_URL: pg.url }));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => stopServer(node)));
    await pg?.stop();
    pg?.remove();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    report('postgres', `PostgreSQL restarted ${RESTARTS} × under two nodes (${WRITERS_PER_NODE} writers each)`, [
      {
        restarts: RESTARTS,
        'writes acked': acked.length,
        refusals: [...refusals].map(([code, n]) => `${code} × ${n}`).join(', ') || 'none',
        'refusals without a code': badRefusals.length,
        lost: lost.length,
        'pg_ctl restart s p50': percentile(restartMs, 50) / 1000,
        'writes again after s (max)': Math.max(0, ...recoveryMs) / 1000,
        'verify exit A/B': verified.map((v) => v.code).join('/'),
      },
    ]);
  });

  it('acknowledges writes on both nodes after every restart', () => {
    expect(recoveryMs.length).to.equal(RESTARTS);
    for (let round = 1; round <= RESTARTS; round++)
      expect(new Set(acked.filter((a) => a.round === round).map((a) => a.node[0])), `round ${round}`).to.have.all.keys('A', 'B');
  });

  it('refuses only with a problem+json that carries a code', () => {
    expect(badRefusals.slice(0, 5)).to.deep.equal([]);
  });

  it('loses no acknowledged write: each is in the log at the position its answer named, on both nodes', () => {
    expect(lost.slice(0, 10), `${lost.length} lost of ${acked.length}`).to.deep.equal([]);
  });

  it('passes `vespera verify` on both nodes afterwards', () => {
    for (const v of verified) expect(v.code, v.report).to.equal(0);
  });
});
