import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CommandHandler } from '../../../src/commands/handler.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import { PROJECT_SNAPSHOT_VERSION, projectSnapshotCodec } from '../../../src/commands/project/snapshot.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import type { EventStore } from '../../../src/eventstore/eventStore.js';
import { SqliteSnapshotStore } from '../../../src/eventstore/snapshots.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';
import { at, coder, P } from './claimFixtures.js';

/**
 * Snapshots of the Project aggregate over a real SQLite log: a cold handler (after a restart) reads the snapshot and
 * only the events after it, and decides exactly as one that folded the whole stream; a snapshot of another codec
 * version, or one whose last event is not the log's any more, is ignored.
 */

const STREAM = `project-${P}`;
const EVERY = 20;

/** Counts the events a handler reads from the log. */
const counting = (inner: EventStore) => {
  let read = 0;
  const store: EventStore = Object.create(inner) as EventStore;
  store.readStream = async (...args) => {
    const events = await inner.readStream(...args);
    read += events.length;
    return events;
  };
  return { store, read: () => read };
};

describe('Project snapshots', () => {
  let dir: string;
  let log: SqliteEventStore;
  let snapshots: SqliteSnapshotStore;
  let n = 0;
  const meta = (commandId = `c${n++}`) => ({ now: at(n), commandId, actor: 'plugin-a', tool: 'test', correlationId: commandId });
  const handler = (store: EventStore = log, withSnapshots = true) =>
    new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({
      store,
      decider: projectDecider(),
      ...(withSnapshots ? { snapshots: { store: snapshots, codec: projectSnapshotCodec, every: EVERY } } : {}),
    });
  /** The state as plain data, to compare two folds. */
  const plain = (state: ProjectState) => JSON.parse(JSON.stringify(projectSnapshotCodec.encode(state))) as unknown;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vespera-snapshots-'));
    log = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
    snapshots = new SqliteSnapshotStore(join(dir, 'snapshots.db'));
    // Given a project of 50 tasks (a root and its children, some depending on others), a few claimed and completed.
    const writer = handler();
    await writer.handle(STREAM, { type: 'CreateProject', data: { projectId: P, name: 'Snapshots' }, metadata: meta() });
    await writer.handle(STREAM, { type: 'CreateTask', data: { projectId: P, taskId: 'root', task: { title: 'root' } }, metadata: meta() });
    for (let i = 0; i < 49; i++) {
      await writer.handle(STREAM, {
        type: 'CreateTask',
        data: { projectId: P, taskId: `t${i}`, parentId: 'root', task: { title: `task ${i}`, files: [`src/m${i % 5}.ts`] } },
        metadata: meta(),
      });
      if (i % 7 === 6)
        await writer.handle(STREAM, { type: 'AddDependency', data: { taskId: `t${i}`, dependsOn: `t${i - 1}`, kind: 'hard' }, metadata: meta() });
    }
    for (const agent of ['a1', 'a2', 'a3']) {
      const claimed = await writer.handle(STREAM, {
        type: 'ClaimNextTask',
        data: { agent, leaseSeconds: 600, role: 'coder', definition: coder, inProgress: 0 },
        metadata: meta(),
      });
      const taskId = (claimed.events.at(-1)!.data as { taskId: string }).taskId;
      if (agent !== 'a3')
        await writer.handle(STREAM, {
          type: 'CompleteTask',
          data: { taskId, agent, output: 'done', artifacts: [], changedFiles: [] },
          metadata: meta(),
        });
    }
    await writer.handle(STREAM, { type: 'MarkFiles', data: { agent: 'a3', files: ['docs/notes.md'] }, metadata: meta('mark-1') });
  });

  afterEach(async () => {
    snapshots.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('when a handler loads a project cold', () => {
    it('reads the snapshot and only the events after it, and holds the state a full fold holds', async () => {
      const head = await log.streamRevision(STREAM);
      const snapshot = snapshots.load(STREAM)!;
      expect(snapshot.version).to.equal(PROJECT_SNAPSHOT_VERSION);
      expect(head - snapshot.revision, 'the tail after the snapshot').to.be.lessThan(EVERY);

      const reading = counting(log);
      const cold = await handler(reading.store).load(STREAM);
      // One read confirms the snapshot's last event, the rest is the tail.
      expect(reading.read(), 'events read').to.equal(1 + head - snapshot.revision);
      expect(plain(cold)).to.deep.equal(plain(await handler(log, false).load(STREAM)));
    });

    it('decides the next claim as the decider does on the whole stream folded', async () => {
      const command: ProjectCommand = {
        type: 'ClaimNextTask',
        data: { agent: 'a9', leaseSeconds: 600, role: 'coder', definition: coder, inProgress: 0 },
        metadata: meta('claim-x'),
      };
      const expected = projectDecider().decide(command, await handler(log, false).load(STREAM));
      const result = await handler().handle(STREAM, command);
      expect(result.events.map(({ type, data }) => ({ type, data }))).to.deep.equal(Array.isArray(expected) ? expected : [expected]);
    });

    it('still knows the command ids handled before the snapshot: a retry replays, appending nothing', async () => {
      const before = await log.streamRevision(STREAM);
      const cold = handler();
      const retried = await cold.handle(STREAM, { type: 'MarkFiles', data: { agent: 'a3', files: ['docs/notes.md'] }, metadata: meta('mark-1') });
      expect(retried.replayed).to.equal(true);
      expect(await log.streamRevision(STREAM)).to.equal(before);
    });
  });

  describe('when the snapshot does not fit', () => {
    it('ignores one of another codec version and folds the stream from its start', async () => {
      const snapshot = snapshots.load(STREAM)!;
      snapshots.save({ ...snapshot, version: PROJECT_SNAPSHOT_VERSION + 1, state: '{"not":"a project"}' });
      const reading = counting(log);
      const cold = await handler(reading.store).load(STREAM);
      expect(reading.read()).to.equal((await log.streamRevision(STREAM)) + 1);
      expect(plain(cold)).to.deep.equal(plain(await handler(log, false).load(STREAM)));
    });

    it('ignores one whose last event is not the log’s event at that revision (another log)', async () => {
      const snapshot = snapshots.load(STREAM)!;
      snapshots.save({ ...snapshot, eventId: '00000000-0000-0000-0000-000000000000', state: '{"state":{},"commands":[]}' });
      const cold = await handler().load(STREAM);
      expect(plain(cold)).to.deep.equal(plain(await handler(log, false).load(STREAM)));
    });

    it('ignores one that cannot be read', async () => {
      const snapshot = snapshots.load(STREAM)!;
      snapshots.save({ ...snapshot, state: '{"state": [' });
      const cold = await handler().load(STREAM);
      expect(plain(cold)).to.deep.equal(plain(await handler(log, false).load(STREAM)));
    });
  });
});
