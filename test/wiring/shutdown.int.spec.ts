import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { REPO, runCli } from '../support/cli.js';
import { startTestApp } from '../support/testApp.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { createLogger } from '../../src/logger.js';
import { Projector, type Projection } from '../../src/projections/projector.js';

/** `vespera serve` as its own process, stopped by signals the way a supervisor (Kubernetes, systemd, a terminal) stops it. */
type Served = {
  child: ChildProcess;
  url: string;
  token: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
};

const serve = async (dataDir: string, env: Record<string, string> = {}): Promise<Served> => {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && !['EVENTSTORE_URL', 'REDIS_URL', 'CHROMA_URL'].includes(k)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: REPO,
    env: {
      ...inherited,
      VESPERA_DATA_DIR: dataDir,
      VESPERA_PORT: '0',
      VESPERA_VECTORS: 'off',
      VESPERA_SYNC: 'normal',
      VESPERA_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  const announced = path.join(dataDir, 'server.json');
  for (const giveUp = Date.now() + 90_000; ;) {
    const info = fs.existsSync(announced) ? (JSON.parse(fs.readFileSync(announced, 'utf8')) as { pid: number; url: string }) : undefined;
    if (info && info.pid === child.pid) {
      return { child, url: info.url, token: fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim(), stderr: () => stderr, exited };
    }
    if (child.exitCode !== null || Date.now() > giveUp) throw new Error(`vespera serve did not start (exit ${child.exitCode}):\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

type Outcome = { title: string; startedAt: number; status?: number; connection?: string; error?: string };

/**
 * POST /api/v1/tasks over node:http. The body is sent up to `held` characters short, the rest on `finish()`: the server
 * has the request (its headers) but cannot answer it yet.
 */
const createTask = (served: Pick<Served, 'url' | 'token'>, title: string, agent: http.Agent | false, held = 0) => {
  const body = JSON.stringify({ title });
  const outcome: Outcome = { title, startedAt: Date.now() };
  const request = http.request(`${served.url}/api/v1/tasks`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${served.token}` },
  });
  const answered = new Promise<Outcome>((resolve) => {
    request.once('response', (response) => {
      outcome.status = response.statusCode;
      outcome.connection = response.headers.connection;
      response.resume();
      response.once('end', () => resolve(outcome));
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      outcome.error = error.code ?? error.message;
      resolve(outcome);
    });
  });
  request.write(body.slice(0, body.length - held));
  if (held === 0) request.end();
  return { answered, finish: () => request.end(body.slice(body.length - held)) };
};

/** Workers that create tasks, each on a fresh connection, until the server refuses to connect. */
const load = (served: Served, workers: number, prefix: string) => {
  const outcomes: Outcome[] = [];
  let n = 0;
  const worker = async () => {
    for (const giveUp = Date.now() + 60_000; Date.now() < giveUp;) {
      const outcome = await createTask(served, `${prefix}-${n++}`, false).answered;
      outcomes.push(outcome);
      if (outcome.error === 'ECONNREFUSED') return;
    }
  };
  return { outcomes, done: Promise.all(Array.from({ length: workers }, worker)) };
};

const titlesInLog = (dataDir: string): string[] => {
  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
  try {
    return db
      .prepare<[], { data: string }>("SELECT data FROM events WHERE type = 'TaskCreated'")
      .all()
      .map((row) => (JSON.parse(row.data) as { title: string }).title);
  } finally {
    db.close();
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Shutdown', function () {
  this.timeout(240_000);
  let scratch: string;

  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-shutdown-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  describe('vespera serve, on SIGTERM under load', () => {
    const DRAIN_MS = 8000;
    let dataDir: string;
    let served: Served;
    let warm: Outcome[];
    let begun: Outcome[];
    let loaded: Outcome[];
    let signalledAt: number;
    let finishedAt: number;
    let exit: { code: number | null; at: number };

    before(async () => {
      dataDir = path.join(scratch, 'load');
      served = await serve(dataDir, { VESPERA_DRAIN_MS: String(DRAIN_MS) });
      warm = await Promise.all(Array.from({ length: 5 }, (_, i) => createTask(served, `warm-${i}`, false).answered));
      // Requests the server has begun (headers read, body still coming) on keep-alive connections.
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const held = Array.from({ length: 4 }, (_, i) => createTask(served, `begun-${i}`, keepAlive, 3));
      const traffic = load(served, 12, 'load');
      await sleep(600);
      signalledAt = Date.now();
      served.child.kill('SIGTERM');
      await sleep(1000);
      finishedAt = Date.now();
      for (const request of held) request.finish();
      begun = await Promise.all(held.map((request) => request.answered));
      await traffic.done;
      loaded = traffic.outcomes;
      exit = await served.exited;
      keepAlive.destroy();
    });

    it('answers every request it had begun before the signal with 201, closing its keep-alive connection', () => {
      expect(warm.map((o) => o.status)).to.deep.equal([201, 201, 201, 201, 201]);
      expect(begun.map((o) => [o.status, o.connection])).to.deep.equal(Array.from({ length: 4 }, () => [201, 'close']));
    });

    it('refuses new connections from the signal on, while the drain is still under way, and never answers 5xx', () => {
      const answered = loaded.filter((o) => o.status !== undefined);
      expect(answered.length, 'tasks created before the signal').to.be.greaterThan(0);
      expect(answered.filter((o) => o.status !== 201)).to.deep.equal([]);
      // A connection still in the listen backlog when the listener closes is reset by the kernel, never read: no answer, no event.
      expect(loaded.filter((o) => o.status === undefined && !['ECONNREFUSED', 'ECONNRESET'].includes(o.error!))).to.deep.equal([]);
      const refusedDuringDrain = loaded.filter((o) => o.error === 'ECONNREFUSED' && o.startedAt < finishedAt);
      expect(refusedDuringDrain.length, 'refused before the begun requests could finish').to.be.greaterThan(0);
      expect(loaded.filter((o) => o.startedAt > signalledAt + 200 && o.error !== 'ECONNREFUSED')).to.deep.equal([]);
    });

    it('exits 0 once drained, long before VESPERA_DRAIN_MS', () => {
      expect(exit.code, served.stderr()).to.equal(0);
      expect(exit.at - signalledAt).to.be.below(DRAIN_MS);
      const drained = served
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"msg":"drained"'))
        .map((line) => JSON.parse(line) as { cutRequests: number; cutConnections: number });
      expect(drained).to.have.length(1);
      expect(drained[0]).to.include({ cutRequests: 0, cutConnections: 0 });
    });

    it('has in its log every task it acknowledged, and no other', () => {
      const acknowledged = [...warm, ...begun, ...loaded].filter((o) => o.status === 201).map((o) => o.title);
      expect(titlesInLog(dataDir)).to.have.members(acknowledged);
    });

    it('stopped its read model at a checkpoint equal to the log, and serves it again after a restart', async () => {
      const stats = await runCli(['stats'], dataDir);
      expect(stats.code, stats.stderr).to.equal(0);
      const report = JSON.parse(stats.stdout) as {
        eventStore: { headPosition: number };
        projectors: { position: number; lag: number; tasks: number }[];
      };
      const tasks = titlesInLog(dataDir).length;
      expect(report.projectors[0]).to.include({ position: report.eventStore.headPosition, lag: 0, tasks });

      const again = await serve(dataDir);
      try {
        const dashboard = await fetch(`${again.url}/api/v1/tasks/dashboard`, { headers: { authorization: `Bearer ${again.token}` } });
        expect(((await dashboard.json()) as { total: number }).total).to.equal(tasks);
      } finally {
        again.child.kill('SIGTERM');
        expect((await again.exited).code).to.equal(0);
      }
    });
  });

  describe('vespera serve, when a request outlasts VESPERA_DRAIN_MS', () => {
    it('cuts it at the bound, still closes the stores at a checkpoint, and exits 1', async () => {
      const dataDir = path.join(scratch, 'bound');
      const served = await serve(dataDir, { VESPERA_DRAIN_MS: '1500' });
      const stuck = createTask(served, 'never finished', false, 3);
      await sleep(300);
      const signalledAt = Date.now();
      served.child.kill('SIGTERM');
      const [outcome, exit] = await Promise.all([stuck.answered, served.exited]);
      expect(outcome.status, 'an answer to a request whose body never came').to.equal(undefined);
      expect(exit.code, served.stderr()).to.equal(1);
      expect(exit.at - signalledAt)
        .to.be.at.least(1500)
        .and.below(1500 + 10_000);
      expect(served.stderr()).to.match(/"cutRequests":1\b/);
      const stats = JSON.parse((await runCli(['stats'], dataDir)).stdout) as { projectors: { lag: number }[] };
      expect(stats.projectors[0]!.lag).to.equal(0);
    });
  });

  describe('vespera serve, on a second signal', () => {
    it('exits at once, without waiting for the drain', async () => {
      const served = await serve(path.join(scratch, 'twice'), { VESPERA_DRAIN_MS: '60000' });
      const stuck = createTask(served, 'held open', false, 3);
      await sleep(300);
      served.child.kill('SIGTERM');
      await sleep(300);
      const secondAt = Date.now();
      served.child.kill('SIGINT');
      const exit = await served.exited;
      expect(exit.code).to.equal(128 + os.constants.signals.SIGINT);
      expect(exit.at - secondAt).to.be.below(2000);
      expect((await stuck.answered).status).to.equal(undefined);
    });
  });

  describe('app.stop() in process', () => {
    it('runs the drain hooks once the listener is closed, with the stores still open, and drains only after them', async () => {
      const app = await startTestApp();
      const target = { url: app.baseUrl, token: app.adminToken };
      const keepAlive = new http.Agent({ keepAlive: true });
      const held = createTask(target, 'held until a hook lets it go', keepAlive, 3);
      await sleep(200);
      const seen: { listening?: boolean; refused?: string; head?: number } = {};
      app.onDrain(async () => {
        seen.listening = app.server.listening;
        seen.refused = (await createTask(target, 'after the listener closed', false).answered).error;
        seen.head = await app.store.headPosition();
        held.finish();
        await sleep(300);
      });
      app.onDrain(() => {
        throw new Error('a hook that fails does not stop the others, nor the stop');
      });
      const started = Date.now();
      await app.close();
      keepAlive.destroy();
      expect(seen).to.deep.include({ listening: false, refused: 'ECONNREFUSED' });
      expect(seen.head).to.be.above(0);
      expect(await held.answered).to.include({ status: 201, connection: 'close' });
      expect(app.drained()).to.include({ cutRequests: 0, cutConnections: 0 });
      expect(Date.now() - started).to.be.at.least(300);
    });
  });

  describe('Projector.stop()', () => {
    it('lets the batch in flight finish with its checkpoint before it resolves, and starts no other', async () => {
      const store = new SqliteEventStore({ path: path.join(scratch, 'projector.db'), synchronous: 'normal' });
      const meta = (i: number) => ({ actor: 'test', tool: 'test', commandId: `c${i}`, correlationId: `c${i}`, schemaVersion: 1 });
      await store.appendToStream(
        'noted',
        Array.from({ length: 10 }, (_, i) => ({ id: `e${i}`, type: 'Noted', data: { i }, metadata: meta(i) })),
        'no_stream',
      );
      let checkpoint = 0;
      const applied: number[][] = [];
      let entered!: () => void;
      const inFlight = new Promise<void>((resolve) => (entered = resolve));
      // A store that pays per batch (Kuzu, Chroma): each batch takes a while to apply.
      const slow: Projection = {
        name: 'slow',
        version: 1,
        checkpoint: () => checkpoint,
        reset: () => void (checkpoint = 0),
        applyBatch: async (events) => {
          entered();
          await sleep(200);
          applied.push(events.map((e) => e.position));
          checkpoint = events.at(-1)!.position;
        },
      };
      const projector = new Projector(store, slow, createLogger('silent'), 4);
      try {
        void projector.start();
        await inFlight;
        await projector.stop();
        expect(checkpoint, 'the checkpoint once stop() resolved').to.equal(4);
        await sleep(400);
        expect(applied).to.deep.equal([[1, 2, 3, 4]]);
        expect(projector.status()).to.include({ position: 4, running: false });
      } finally {
        await store.close();
      }
    });
  });
});
