import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { CommandHandler } from '../../src/commands/handler.js';
import { projectCommands } from '../../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../../src/commands/project/decider.js';
import type { ProjectState } from '../../src/commands/project/project.js';
import { PROJECT_EVENT_TYPES, type ProjectEvent } from '../../src/events/project.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { SqliteProjection } from '../../src/projections/sqlite/projection.js';
import { dumpReadModel, openReadModel } from '../../src/projections/sqlite/readModel.js';
import { LOG_V1, LOG_V1_READ_MODEL, writeLogV1 } from '../support/logV1.js';

/**
 * test/fixtures/log-v1.ndjson is a log written at schema version 1 for every event type (test/fixtures/makeLogV1.ts
 * says how), with the read model that version projected from it. However the event shapes evolve, today's code must
 * read that log into the same read model: this is what keeps history readable without ever editing it.
 */
const written = LOG_V1;
const expected = LOG_V1_READ_MODEL;

describe('Replaying the version-1 fixture log with today’s code', function () {
  let dir: string;
  let store: SqliteEventStore;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-log-v1-'));
    const file = path.join(dir, 'events.db');
    writeLogV1(file);
    store = new SqliteEventStore({ path: file, pollIntervalMs: 0 });
  });

  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds every event type of today’s vocabulary at schema version 1', () => {
    expect(written.every((e) => e.metadata.schemaVersion === 1)).to.equal(true);
    const types = new Set(written.map((e) => e.type));
    for (const type of ['ProjectCreated', 'TaskCreated', 'TaskUpdated', 'TaskMoved', 'TaskStatusChanged', 'TaskDeleted', 'DependencyAdded']) {
      expect(types, type).to.include(type);
    }
    for (const type of ['DependencyRemoved', 'RoleAssigned', 'RoleUnassigned', 'TaskClaimed', 'LeaseExtended', 'TaskReleased', 'LeaseExpired']) {
      expect(types, type).to.include(type);
    }
    for (const type of ['TaskCompleted', 'RoleDefined', 'RoleChanged', 'RoleRetired', 'PluginRegistered', 'PluginCapabilitiesChanged']) {
      expect(types, type).to.include(type);
    }
    for (const type of ['PluginRevoked', 'TokenIssued', 'TokenRevoked']) expect(types, type).to.include(type);
  });

  it('names every project event type it lacks as added since version 1 (advisory file marks, typed links)', () => {
    const types = new Set(written.map((e) => e.type));
    const addedSince = ['FilesMarked', 'FilesUnmarked', 'TaskLinked', 'TaskUnlinked'];
    expect([...PROJECT_EVENT_TYPES].filter((t) => !types.has(t))).to.have.members(addedSince);
  });

  it('when read back, every event comes out at its current version (TaskReleased upcast to 2)', async () => {
    const read = await store.readAll({ fromPosition: 0, maxCount: 10_000 });
    expect(read).to.have.length(written.length);
    const releases = read.filter((e) => e.type === 'TaskReleased');
    expect(releases).to.have.length(2);
    for (const e of releases) expect(e.metadata.schemaVersion).to.equal(2);
    expect(releases.map((e) => (e.data as { forced: boolean }).forced)).to.deep.equal([false, true]);
    expect(releases.map((e) => (e.data as { forcedBy: string | null }).forcedBy)).to.deep.equal([null, 'admin']);
  });

  /** Columns the read model gained since version 1 (after which column), with the value a version-1 event gives them. */
  const ADDED_COLUMNS: Record<string, { after: string; values: Record<string, unknown> }> = {
    roles: { after: 'max_concurrent_tasks', values: { max_per_agent: null } },
    tasks: { after: 'seq', values: { status_note: null, status_note_at: null } },
  };
  /** Tables the read model gained since version 1 (typed links, usage accounting). */
  const ADDED_TABLES = ['task_links', 'usage_reports', 'usage_open_claims'];
  const withAddedColumns = (table: string, rows: unknown[]): unknown[] => {
    const added = ADDED_COLUMNS[table];
    if (!added) return rows;
    return rows.map((row) => {
      const entries = Object.entries(row as Record<string, unknown>);
      const at = entries.findIndex(([key]) => key === added.after) + 1;
      return Object.fromEntries([...entries.slice(0, at), ...Object.entries(added.values), ...entries.slice(at)]);
    });
  };

  it('when projected, then the SQLite read model equals the one version 1 projected, row for row', async () => {
    const db = openReadModel(path.join(dir, 'read.db'));
    try {
      new SqliteProjection(db).applyBatch(await store.readAll({ fromPosition: 0, maxCount: 10_000 }));
      const dump = JSON.parse(JSON.stringify(dumpReadModel(db))) as Record<string, unknown[]>;
      // Tables the read model gained since version 1 hold what today's projection derives; the rest must match row for row.
      expect(Object.keys(dump).filter((t) => !(t in expected))).to.deep.equal(ADDED_TABLES);
      expect(Object.keys(dump).filter((t) => t in expected)).to.deep.equal(Object.keys(expected));
      for (const table of Object.keys(expected)) expect(dump[table], table).to.deep.equal(withAddedColumns(table, expected[table]!));
    } finally {
      db.close();
    }
  });

  it('when the project aggregate is folded, then decisions see the tasks as they were left', async () => {
    const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
    const state = await handler.load('project-fixture');
    expect(state.status).to.equal('active');
    const byTitle = new Map([...state.tasks.values()].map((t) => [t.fields.title, t]));
    expect(byTitle.get('Parse the input files')?.status).to.equal('completed');
    expect(byTitle.get('Design the storage layer (v2)')?.lease).to.equal(null);
    expect(byTitle.has('Scrap this one')).to.equal(false);
    expect(state.revision).to.equal(Math.max(...written.filter((e) => e.streamId === 'project-fixture').map((e) => e.revision)));
  });

  it('when a release is decided today, then it is written at version 2 and other events at 1', async () => {
    const handler = new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() });
    const commands = projectCommands({ handler, locateTask: async () => 'fixture', newId: () => 'fresh-task', now: () => new Date().toISOString() });
    const batchEvent = written.find((e) => (e.data as { title?: string }).title === 'Batch the inserts')!;
    const task = (await handler.load('project-fixture')).tasks.get((batchEvent.data as { taskId: string }).taskId)!;
    const meta = (n: number) => ({ actor: 'spec', tool: 'spec', commandId: `upcast-spec-${n}` });
    await commands.claimTask(task.id, 'agent-9', 60, undefined, meta(1));
    const released = await commands.releaseTask(task.id, 'agent-9', 'spec', meta(2));
    const raw = new Database(path.join(dir, 'events.db'), { readonly: true });
    const rows = raw
      .prepare<[number], { type: string; metadata: string }>('SELECT type, metadata FROM events WHERE position > ? ORDER BY position')
      .all(written.length);
    raw.close();
    expect(released.position).to.be.greaterThan(written.length);
    expect(rows.map((r) => [r.type, (JSON.parse(r.metadata) as { schemaVersion: number }).schemaVersion])).to.deep.equal([
      ['TaskClaimed', 1],
      ['TaskReleased', 2],
    ]);
  });
});
