import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { dataFiles } from '../../src/app.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { SqliteProjection } from '../../src/projections/sqlite/projection.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { rebuildReadModel } from '../../src/projections/sqlite/rebuild.js';
import { api } from '../support/testApp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const IN_FLIGHT = 8;
const WRITE_FOR_MS = 2000;

/** mulberry32: the same stream of writes on every run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

type Server = {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  /** Headers carrying the admin token the server writes into its data directory at every start. */
  auth: Record<string, string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: () => string;
};

const until = async <T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> => {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** `vespera serve` as a real child process on a port of its own choosing, ready once /health answers. */
const startServer = async (dataDir: string): Promise<Server> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && k !== 'EVENTSTORE_URL'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: REPO,
    env: { ...env, VESPERA_DATA_DIR: dataDir, VESPERA_PORT: '0', VESPERA_LOG_LEVEL: 'info' },
  });
  let log = '';
  let listening: string | undefined;
  child.stdout.on('data', () => {});
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (listening) return;
    for (const line of log.split('\n')) {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'Vespera is listening') listening = entry.url;
      } catch {
        // a partial line; the next chunk completes it
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const died = exited.then(({ code, signal }) => {
    throw new Error(`The server exited (${code ?? signal}) before it was ready:\n${log}`);
  });
  died.catch(() => {});
  const ready = async () => {
    const url = await until('the server to listen', 30_000, async () => listening);
    await until('/health', 10_000, async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined));
    return url;
  };
  const baseUrl = await Promise.race([ready(), died]);
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return { child, baseUrl, auth: { authorization: `Bearer ${token}` }, exited, log: () => log };
};

type Acknowledged = {
  tasks: Map<string, string>;
  dependencies: { taskId: string; dependsOn: string; kind: 'hard' | 'soft' }[];
  /** Dependency writes sent per `taskId dependsOn` pair, acknowledged or not. */
  attempts: Map<string, number>;
};

/** Keeps IN_FLIGHT writes going until the server dies; only 2xx answers count as acknowledged. */
const writeUntilKilled = async (server: Server, seed: number, killAfterMs: number) => {
  const random = prng(seed);
  const acked: Acknowledged = { tasks: new Map(), dependencies: [], attempts: new Map() };
  let sent = 0;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let dead = false;
  const killer = setTimeout(() => {
    inFlightAtKill = inFlight;
    dead = server.child.kill('SIGKILL');
  }, killAfterMs);

  const ids = () => [...acked.tasks.keys()];
  const nextWrite = (): (() => Promise<void>) => {
    const n = ++sent;
    const roll = random();
    const known = ids();
    if (roll < 0.15 || known.length < 4) {
      const titles = [`crash-${n}-root`, `crash-${n}-a`, `crash-${n}-b`];
      return async () => {
        const res = await api(server.baseUrl, 'POST', '/api/v1/tasks/tree', { root: { title: titles[0], children: [{ title: titles[1] }, { title: titles[2] }] } }, server.auth);
        if (res.status === 201) (res.body.taskIds as string[]).forEach((id, i) => acked.tasks.set(id, titles[i]!));
      };
    }
    if (roll < 0.4) {
      const taskId = known[Math.floor(random() * known.length)]!;
      const dependsOn = known[Math.floor(random() * known.length)]!;
      const kind = random() < 0.7 ? 'hard' : 'soft';
      const pair = `${taskId} ${dependsOn}`;
      acked.attempts.set(pair, (acked.attempts.get(pair) ?? 0) + 1);
      return async () => {
        const res = await api(server.baseUrl, 'POST', `/api/v1/tasks/${taskId}/dependencies`, { dependsOn, kind }, server.auth);
        if (res.status >= 200 && res.status < 300) acked.dependencies.push({ taskId, dependsOn, kind });
      };
    }
    const title = `crash-${n}`;
    const parentId = random() < 0.2 ? known[Math.floor(random() * known.length)] : undefined;
    return async () => {
      const res = await api(server.baseUrl, 'POST', '/api/v1/tasks', { title, ...(parentId ? { parentId } : {}) }, server.auth);
      if (res.status === 201) acked.tasks.set(res.body.id as string, title);
    };
  };

  const worker = async () => {
    while (!dead) {
      const write = nextWrite();
      inFlight += 1;
      try {
        await write();
      } catch {
        // the connection died with the server: this write was never acknowledged
      } finally {
        inFlight -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  clearTimeout(killer);
  return { acked, sent, inFlightAtKill };
};

describe('Crash safety', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-crash-'));
    dirs.push(dir);
    return dir;
  };

  after(async () => {
    for (const { child, exited } of servers) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('when the server is killed with SIGKILL in the middle of a stream of writes (sync=full)', () => {
    let dataDir: string;
    let acked: Acknowledged;
    let restarted: Server;

    before(async function () {
      this.timeout(90_000);
      dataDir = tempDir();
      const first = await startServer(dataDir);
      servers.push(first);
      const run = await writeUntilKilled(first, 4242, WRITE_FOR_MS);
      acked = run.acked;
      const { signal } = await first.exited;
      expect(signal, 'the first server died of SIGKILL').to.equal('SIGKILL');
      expect(run.inFlightAtKill, 'writes were in flight when it died').to.be.greaterThan(0);
      expect(acked.tasks.size, `enough of ${run.sent} writes were acknowledged to mean something`).to.be.greaterThan(20);
      restarted = await startServer(dataDir);
      servers.push(restarted);
    });

    it('keeps every acknowledged task after a restart', async function () {
      this.timeout(60_000);
      const missing: string[] = [];
      for (const [id, title] of acked.tasks) {
        const res = await api(restarted.baseUrl, 'GET', `/api/v1/tasks/${id}`, undefined, restarted.auth);
        if (res.status !== 200 || res.body.title !== title) missing.push(`${id} (${title}): ${res.status}`);
      }
      expect(missing).to.deep.equal([]);
    });

    it('keeps every acknowledged dependency after a restart', async function () {
      this.timeout(60_000);
      const missing: string[] = [];
      for (const { taskId, dependsOn, kind } of acked.dependencies) {
        const res = await api(restarted.baseUrl, 'GET', `/api/v1/tasks/${taskId}/dependencies`, undefined, restarted.auth);
        const edge = (res.body?.items as { id: string; kind: string }[] | undefined)?.find((d) => d.id === dependsOn);
        const pair = acked.dependencies.filter((d) => d.taskId === taskId && d.dependsOn === dependsOn);
        // the kind is certain only when this edge was written once (an unanswered or racing second write may have landed)
        const certain = acked.attempts.get(`${taskId} ${dependsOn}`) === 1;
        if (!edge || (certain && edge.kind !== pair[0]!.kind)) missing.push(`${taskId} → ${dependsOn} (${kind}): ${res.status} ${JSON.stringify(edge)}`);
      }
      expect(missing).to.deep.equal([]);
    });

    describe('and then stopped cleanly', () => {
      before(async function () {
        this.timeout(30_000);
        restarted.child.kill('SIGTERM');
        const { code } = await restarted.exited;
        expect(code, restarted.log()).to.equal(0);
      });

      it('leaves a read model equal to a fresh rebuild from the log', async function () {
        this.timeout(60_000);
        const files = dataFiles(dataDir);
        const store = new SqliteEventStore({ path: files.events, pollIntervalMs: 0 });
        const aside = path.join(tempDir(), 'read.db');
        let head: number;
        try {
          head = await store.headPosition();
          await rebuildReadModel(store, aside);
        } finally {
          await store.close();
        }
        const dump = (file: string) => {
          const db = openReadModel(file);
          try {
            return { rows: dumpReadModel(db), checkpoint: new SqliteProjection(db).checkpoint() };
          } finally {
            db.close();
          }
        };
        const live = dump(files.readModel);
        const rebuilt = dump(aside);
        expect(live.checkpoint).to.equal(head);
        expect(rebuilt.checkpoint).to.equal(head);
        for (const table of Object.keys(live.rows)) expect(live.rows[table], table).to.deep.equal(rebuilt.rows[table]);
        expect(live.rows.tasks!.length).to.be.at.least(acked.tasks.size);
      });
    });
  });
});
