import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { dataFiles } from '../../src/wiring/dataFiles.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { SqliteProjection } from '../../src/projections/sqlite/projection.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { rebuildReadModel } from '../../src/projections/sqlite/rebuild.js';
import { api } from '../support/testApp.js';
import { mulberry32 } from '../support/random.js';
import { startServer, type Server } from '../support/serveProcess.js';

const IN_FLIGHT = 8;
const WRITE_FOR_MS = 4000;

type Kind = 'tree' | 'create' | 'dependency' | 'update' | 'status' | 'move' | 'delete' | 'claim' | 'complete';

/** The event each kind of write ends with: its answer's X-Vespera-Position must point at one of these. */
const LAST_EVENT: Record<Kind, readonly string[]> = {
  tree: ['TaskCreated'],
  create: ['TaskCreated'],
  dependency: ['DependencyAdded'],
  update: ['TaskUpdated'],
  status: ['TaskStatusChanged'],
  move: ['TaskMoved'],
  delete: ['TaskDeleted'],
  claim: ['TaskClaimed'],
  complete: ['TaskCompleted', 'TaskStatusChanged'],
};

type Write = { kind: Kind; taskId: string; position: number };

type Acknowledged = {
  tasks: Map<string, string>;
  dependencies: { taskId: string; dependsOn: string; kind: 'hard' | 'soft' }[];
  /** Dependency writes sent per `taskId dependsOn` pair, acknowledged or not. */
  attempts: Map<string, number>;
  /** Every acknowledged write with the log position its answer named. */
  writes: Write[];
  /** Tasks a delete was sent for, acknowledged or not: whether they still exist is not certain. */
  deleteSent: Set<string>;
  /** Acknowledged writes per kind, so the mix is shown to be a mix. */
  kinds: Map<Kind, number>;
};

/** Keeps IN_FLIGHT writes of every kind going until the server dies; only 2xx answers count as acknowledged. */
const writeUntilKilled = async (server: Server, seed: number, killAfterMs: number) => {
  const random = mulberry32(seed);
  const acked: Acknowledged = { tasks: new Map(), dependencies: [], attempts: new Map(), writes: [], deleteSent: new Set(), kinds: new Map() };
  let sent = 0;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let dead = false;
  const killer = setTimeout(() => {
    inFlightAtKill = inFlight;
    dead = server.child.kill('SIGKILL');
  }, killAfterMs);

  /** One write per task in flight, so the writer knows each task's state and never sends a no-op (which appends nothing). */
  const busy = new Set<string>();
  const status = new Map<string, string>();
  const parent = new Map<string, string | null>();
  const claimSent = new Set<string>();
  const ids = () => [...acked.tasks.keys()].filter((id) => !acked.deleteSent.has(id) && !busy.has(id));
  const any = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  /** Sends one write; a 2xx answer records its position (and must name one). */
  const send = async (kind: Kind, taskId: string, method: string, url: string, body?: unknown) => {
    if (taskId) busy.add(taskId);
    try {
      const res = await api(server.baseUrl, method, `/api/v1${url}`, body, server.auth);
      if (res.status < 200 || res.status >= 300) return undefined;
      const position = Number(res.headers.get('x-vespera-position'));
      expect(Number.isInteger(position) && position > 0, `${method} ${url} answered ${res.status} without X-Vespera-Position`).to.equal(true);
      acked.writes.push({ kind, taskId, position });
      acked.kinds.set(kind, (acked.kinds.get(kind) ?? 0) + 1);
      const task = (res.body?.task ?? res.body) as { id?: string; status?: string; parentId?: string | null };
      if (taskId && task?.id === taskId && task.status) status.set(taskId, task.status);
      if (taskId && task?.id === taskId && task.parentId !== undefined) parent.set(taskId, task.parentId);
      return res;
    } finally {
      busy.delete(taskId);
    }
  };
  const created = (id: string, title: string, parentId: string | null) => {
    acked.tasks.set(id, title);
    status.set(id, 'pending');
    parent.set(id, parentId);
  };
  const nextWrite = (): (() => Promise<unknown>) => {
    const n = ++sent;
    const roll = random();
    const known = ids();
    if (roll < 0.12 || known.length < 6) {
      const titles = [`crash-${n}-root`, `crash-${n}-a`, `crash-${n}-b`];
      return async () => {
        const res = await send('tree', '', 'POST', '/tasks/tree', {
          root: { title: titles[0], children: [{ title: titles[1] }, { title: titles[2] }] },
        });
        const taskIds = (res?.body.taskIds ?? []) as string[];
        taskIds.forEach((id, i) => created(id, titles[i]!, i === 0 ? null : taskIds[0]!));
      };
    }
    if (roll < 0.24) {
      const title = `crash-${n}`;
      const parentId = random() < 0.2 ? any(known) : undefined;
      return async () => {
        const res = await send('create', '', 'POST', '/tasks', { title, ...(parentId ? { parentId } : {}) });
        if (res) created(res.body.id as string, title, parentId ?? null);
      };
    }
    const taskId = any(known);
    busy.add(taskId);
    if (roll < 0.38) {
      const dependsOn = any(known);
      const kind = random() < 0.7 ? 'hard' : 'soft';
      const pair = `${taskId} ${dependsOn}`;
      acked.attempts.set(pair, (acked.attempts.get(pair) ?? 0) + 1);
      return async () => {
        if (await send('dependency', taskId, 'POST', `/tasks/${taskId}/dependencies`, { dependsOn, kind }))
          acked.dependencies.push({ taskId, dependsOn, kind });
      };
    }
    if (roll < 0.5)
      return () =>
        send('update', taskId, 'PATCH', `/tasks/${taskId}`, {
          description: `edited by write ${n}`,
          priority: any(['low', 'normal', 'high', 'critical']),
        });
    if (roll < 0.6) {
      const to = any(['in_progress', 'blocked', 'review', 'cancelled', 'pending'].filter((s) => s !== status.get(taskId)));
      return () => send('status', taskId, 'POST', `/tasks/${taskId}/status`, { status: to });
    }
    if (roll < 0.68) {
      const to = known.filter((id) => id !== taskId && id !== parent.get(taskId));
      if (to.length > 0) return () => send('move', taskId, 'POST', `/tasks/${taskId}/move`, { parentId: any(to) });
    }
    if (roll < 0.74) {
      acked.deleteSent.add(taskId);
      // not recursive: a task with subtasks is refused, so only the task named can go
      return () => send('delete', taskId, 'DELETE', `/tasks/${taskId}?recursive=false`);
    }
    const claimed = [...acked.tasks.keys()].filter(
      (id) => claimSent.has(id) && status.get(id) === 'in_progress' && !busy.has(id) && !acked.deleteSent.has(id),
    );
    if (roll < 0.87 || claimed.length === 0) {
      if (claimSent.has(taskId)) return () => send('update', taskId, 'PATCH', `/tasks/${taskId}`, { description: `edited by write ${n}` });
      claimSent.add(taskId);
      return () => send('claim', taskId, 'POST', `/tasks/${taskId}/claim`, { leaseSeconds: 600 });
    }
    busy.delete(taskId);
    const done = any(claimed);
    busy.add(done);
    return () => send('complete', done, 'POST', `/tasks/${done}/complete`, { output: `finished by write ${n}` });
  };

  const worker = async () => {
    while (!dead) {
      const write = nextWrite();
      inFlight += 1;
      try {
        await write();
      } catch (error) {
        // the connection died with the server: this write was never acknowledged (a failed expectation is not that)
        if ((error as Error).name === 'AssertionError') throw error;
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

  // A process kill leaves the OS page cache intact, so it cannot tell sync=full from sync=normal (only a power
  // cut can). What it proves: no acknowledged write of any kind is lost, and the read model recovers exactly.
  describe('when `vespera serve` (default durability) is killed with SIGKILL amid writes of every kind', () => {
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
      for (const kind of Object.keys(LAST_EVENT) as Kind[]) expect(acked.kinds.get(kind) ?? 0, `acknowledged ${kind} writes`).to.be.greaterThan(0);
      restarted = await startServer(dataDir);
      servers.push(restarted);
    });

    it('keeps every acknowledged task no delete was sent for, after a restart', async function () {
      this.timeout(60_000);
      const missing: string[] = [];
      for (const [id, title] of acked.tasks) {
        if (acked.deleteSent.has(id)) continue;
        const res = await api(restarted.baseUrl, 'GET', `/api/v1/tasks/${id}`, undefined, restarted.auth);
        if (res.status !== 200 || res.body.title !== title) missing.push(`${id} (${title}): ${res.status}`);
      }
      expect(missing).to.deep.equal([]);
    });

    it('keeps every acknowledged dependency after a restart', async function () {
      this.timeout(60_000);
      const missing: string[] = [];
      for (const { taskId, dependsOn, kind } of acked.dependencies) {
        // a delete (even an unanswered one) may have taken the edge with it
        if (acked.deleteSent.has(taskId) || acked.deleteSent.has(dependsOn)) continue;
        const res = await api(restarted.baseUrl, 'GET', `/api/v1/tasks/${taskId}/dependencies`, undefined, restarted.auth);
        const edge = (res.body?.items as { id: string; kind: string }[] | undefined)?.find((d) => d.id === dependsOn);
        const pair = acked.dependencies.filter((d) => d.taskId === taskId && d.dependsOn === dependsOn);
        // the kind is certain only when this edge was written once (an unanswered or racing second write may have landed)
        const certain = acked.attempts.get(`${taskId} ${dependsOn}`) === 1;
        if (!edge || (certain && edge.kind !== pair[0]!.kind))
          missing.push(`${taskId} → ${dependsOn} (${kind}): ${res.status} ${JSON.stringify(edge)}`);
      }
      expect(missing).to.deep.equal([]);
    });

    describe('and then stopped cleanly', () => {
      before(async function () {
        this.timeout(45_000);
        restarted.child.kill('SIGTERM');
        // Bounded here rather than by mocha, so a stop that hangs shows what the server logged meanwhile.
        const { code } = await Promise.race([
          restarted.exited,
          sleep(40_000).then(() => {
            restarted.child.kill('SIGKILL');
            throw new Error(`vespera serve had not exited 40 s after SIGTERM; its log ends:\n${restarted.log().slice(-4000)}`);
          }),
        ]);
        expect(code, restarted.log()).to.equal(0);
      });

      it('has every acknowledged write in the log, and a read model equal to a fresh rebuild from it', async function () {
        this.timeout(60_000);
        const files = dataFiles(dataDir);
        const store = new SqliteEventStore({ path: files.events, pollIntervalMs: 0 });
        const aside = path.join(tempDir(), 'read.db');
        let head: number;
        const lost: string[] = [];
        try {
          head = await store.headPosition();
          const byPosition = new Map((await store.readAll({ fromPosition: 0, maxCount: 10_000_000 })).map((e) => [e.position, e]));
          for (const write of acked.writes) {
            const event = byPosition.get(write.position);
            const taskId = (event?.data as { taskId?: string } | undefined)?.taskId;
            const fits =
              event &&
              LAST_EVENT[write.kind].includes(event.type) &&
              (write.kind === 'tree' || write.kind === 'create' || write.kind === 'delete' || taskId === write.taskId);
            if (!fits) lost.push(`${write.kind} ${write.taskId} @${write.position}: ${event ? `${event.type} ${taskId}` : 'no event'}`);
          }
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
        expect(lost, 'acknowledged writes whose event is not at the position their answer named').to.deep.equal([]);
        const rebuilt = dump(aside);
        expect(live.checkpoint).to.equal(head);
        expect(rebuilt.checkpoint).to.equal(head);
        for (const table of Object.keys(live.rows)) expect(live.rows[table], table).to.deep.equal(rebuilt.rows[table]);
        expect(live.rows.tasks!.length).to.be.at.least(acked.tasks.size - acked.deleteSent.size);
      });
    });
  });
});
