import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CommandHandler } from '../../../src/commands/handler.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import { projectCommands, type ProjectCommands } from '../../../src/commands/project/commands.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import type { AssignableRole } from '../../../src/commands/roles/assignment.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';

/**
 * The write side's answers carry the ids the command made, so no surface digs them out of the events; a
 * replayed command (same command id) answers with the ids of its first run.
 */
describe('projectCommands', () => {
  let dir: string;
  let store: SqliteEventStore;
  let commands: ProjectCommands;
  let minted: number;

  const developer: AssignableRole = {
    name: 'developer',
    description: 'Writes code',
    capabilities: ['code_writing'],
    filePatterns: ['**'],
    tools: [],
    maxConcurrentTasks: 5,
    restrictions: { maxFileChanges: 100, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
  };
  const meta = (commandId: string) => ({ actor: 'spec', tool: 'cli', commandId });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vespera-commands-'));
    store = new SqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 0 });
    minted = 0;
    commands = projectCommands({
      handler: new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() }),
      locateTask: async () => 'default',
      newId: () => `t${++minted}`,
      now: () => '2025-01-01T00:00:00.000Z',
      roleDefinition: async (name) => (name === developer.name ? developer : undefined),
    });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('createTask', () => {
    it('answers with the id of the task it created', async () => {
      const result = await commands.createTask({ title: 'Write the parser' }, meta('c1'));
      expect(result.taskId).to.equal('t1');
      expect(result.replayed).to.equal(false);
    });

    describe('when the same command is sent again', () => {
      it('answers with the id of the first run, not a freshly minted one', async () => {
        const first = await commands.createTask({ title: 'Write the parser' }, meta('c1'));
        const again = await commands.createTask({ title: 'Write the parser' }, meta('c1'));
        expect(again.replayed).to.equal(true);
        expect(first.taskId).to.equal('t1');
        expect(again.taskId).to.equal('t1');
      });
    });
  });

  describe('createTaskTree', () => {
    const tree = { title: 'Release', children: [{ title: 'Build', children: [{ title: 'Compile' }] }, { title: 'Publish' }] };

    it('answers with the root id and every id, parents before their children', async () => {
      const result = await commands.createTaskTree({ root: tree }, meta('c1'));
      expect(result.rootId).to.equal('t1');
      expect(result.taskIds).to.deep.equal(['t1', 't2', 't3', 't4']);
    });

    describe('when the same command is sent again', () => {
      it('answers with the ids of the first run', async () => {
        const first = await commands.createTaskTree({ root: tree }, meta('c1'));
        const again = await commands.createTaskTree({ root: tree }, meta('c1'));
        expect(again.replayed).to.equal(true);
        expect(first.taskIds).to.deep.equal(['t1', 't2', 't3', 't4']);
        expect({ rootId: again.rootId, taskIds: again.taskIds }).to.deep.equal({ rootId: 't1', taskIds: ['t1', 't2', 't3', 't4'] });
      });
    });
  });

  describe('claimNextTask', () => {
    it('answers with the id of the task it claimed', async () => {
      await commands.createTask({ title: 'Low', priority: 'low' }, meta('c1'));
      await commands.createTask({ title: 'Urgent', priority: 'critical' }, meta('c2'));
      const claimed = await commands.claimNextTask('developer', 'agent-1', 60, 'default', meta('c3'));
      expect(claimed?.taskId).to.equal('t2');
    });
  });

  describe('undoRequest', () => {
    /**
     * The store as undo reads it, with another request of the same project appended right after each of the first
     * `interleaved` reads of the project stream: a command slips in between the read and the decision, as one from
     * another connection can.
     */
    const withInterleavedWrites = (interleaved: number, otherTask: string) => {
      let reads = 0;
      const log = {
        queryEvents: store.queryEvents.bind(store),
        readStream: async (...args: Parameters<SqliteEventStore['readStream']>) => {
          const read = await store.readStream(...args);
          if (++reads <= interleaved) await commands.updateTask(otherTask, { title: `Meanwhile ${reads}` }, meta(`meanwhile-${reads}`));
          return read;
        },
      };
      return {
        log,
        reads: () => reads,
      };
    };
    const undoing = (log: ReturnType<typeof withInterleavedWrites>['log']) =>
      projectCommands({
        handler: new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() }),
        locateTask: async () => 'default',
        newId: () => `t${++minted}`,
        now: () => '2025-01-01T00:00:00.000Z',
        roleDefinition: async () => undefined,
        log,
      });

    beforeEach(async () => {
      await commands.createTask({ title: 'Undone' }, meta('c1'));
      await commands.createTask({ title: 'Busy' }, meta('c2'));
      await commands.updateTask('t1', { title: 'Renamed' }, { ...meta('c3'), correlationId: 'req-rename' });
    });

    it('given other requests of the project landing between its read and its decision, when it retries, then it reverses the request', async () => {
      const interleaving = withInterleavedWrites(2, 't2');
      const result = await undoing(interleaving.log).undoRequest('req-rename', false, meta('undo-1'));
      expect(interleaving.reads()).to.be.greaterThan(2);
      expect(result.events.map((e) => e.type)).to.deep.equal(['TaskUpdated']);
      const events = await store.readStream('project-default');
      const titles = events.filter((e) => e.type === 'TaskUpdated').map((e) => (e.data as { changes: { title: string } }).changes.title);
      expect(titles).to.deep.equal(['Renamed', 'Meanwhile 1', 'Meanwhile 2', 'Undone']);
      expect(events.at(-1)?.metadata.causationId).to.equal('req-rename');
    });

    it('given the project changing under every attempt, when five reads went stale, then it refuses with UNDO_STALE and appends no compensation', async () => {
      const interleaving = withInterleavedWrites(Number.POSITIVE_INFINITY, 't2');
      const refused = await undoing(interleaving.log)
        .undoRequest('req-rename', false, meta('undo-2'))
        .then(
          () => undefined,
          (error: { code?: string }) => error,
        );
      expect(refused?.code).to.equal('UNDO_STALE');
      const events = await store.readStream('project-default');
      expect(events.filter((e) => e.metadata.causationId === 'req-rename')).to.deep.equal([]);
    });
  });
});
