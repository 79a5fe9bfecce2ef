import { expect } from 'chai';
import { CommandHandler } from '../../../src/commands/handler.js';
import { projectCommands, type ProjectCommands } from '../../../src/commands/project/commands.js';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ProjectState } from '../../../src/commands/project/project.js';
import type { AssignableRole } from '../../../src/commands/roles/assignment.js';
import { DomainError } from '../../../src/errors.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite.js';
import { auditState, cloneFold, type AuditState } from '../../../src/queries/audit/asOf.js';
import { FoldSnapshots } from '../../../src/queries/audit/snapshots.js';

/**
 * State as of a point and diffs, over a hand-built log: a real SQLite event store whose clock moves one minute
 * per append, written through the real Project decider. Every answer is folded from the log alone.
 */

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const minute = (n: number) => new Date(T0 + n * 60_000).toISOString();

const coder: AssignableRole = {
  name: 'coder',
  description: 'Writes code',
  capabilities: ['code_writing'],
  filePatterns: ['**'],
  tools: [],
  maxConcurrentTasks: 5,
  restrictions: { maxFileChanges: 100, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 60 },
};

const refusal = async (promise: Promise<unknown>): Promise<DomainError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a refusal');
};

describe('Audit: state as of a point and diffs, folded from the log', () => {
  let store: SqliteEventStore;
  let commands: ProjectCommands;
  let audit: AuditState;
  /** The global position after each step of the story below. */
  type Step = 'project' | 'created' | 'updated' | 'depended' | 'moved' | 'started' | 'assigned' | 'softened' | 'deleted' | 'undepended';
  const at = {} as Record<Step, number>;
  let ids: { a: string; b: string; c: string };

  before(async () => {
    let clock = 0;
    let minted = 0;
    store = new SqliteEventStore({ path: ':memory:', pollIntervalMs: 0, now: () => minute(clock++) });
    commands = projectCommands({
      handler: new CommandHandler<ProjectState, ProjectCommand, ProjectEvent>({ store, decider: projectDecider() }),
      locateTask: async () => 'p1',
      newId: () => `t${++minted}`,
      now: () => minute(clock),
      roleDefinition: async (name) => (name === coder.name ? coder : undefined),
    });
    audit = auditState(store, new FoldSnapshots({ clone: cloneFold, every: 3 }));
    let n = 0;
    const meta = () => ({ actor: 'spec', tool: 'cli', commandId: `c${++n}` });
    const step = async (name: Step, write: Promise<{ position: number }>) => {
      at[name] = (await write).position;
    };
    await step('project', commands.createProject({ projectId: 'p1', name: 'Apollo', description: 'Moon' }, meta()));
    const a = await commands.createTask({ projectId: 'p1', title: 'A' }, meta());
    const b = await commands.createTask({ projectId: 'p1', parentId: a.taskId, title: 'B' }, meta());
    const c = await commands.createTask({ projectId: 'p1', title: 'C', priority: 'low' }, meta());
    ids = { a: a.taskId, b: b.taskId, c: c.taskId };
    at.created = c.position;
    await step(
      'updated',
      commands.updateTask(
        ids.a,
        {
          title: 'A2',
          description: 'now described',
          priority: 'high',
          tags: ['x', 'y'],
          estimate: 3,
          files: ['src/a.ts'],
          requiredCapabilities: ['code_writing'],
          metadata: { ticket: 7 },
        },
        meta(),
      ),
    );
    await step('depended', commands.addDependency(ids.c, ids.a, 'hard', meta()));
    await step('moved', commands.moveTask(ids.b, null, meta()));
    await step('started', commands.changeTaskStatus(ids.a, 'in_progress', undefined, meta()));
    await step('assigned', commands.assignRole(ids.a, 'coder', meta()));
    await step('softened', commands.addDependency(ids.c, ids.a, 'soft', meta()));
    await step('deleted', commands.deleteTask(ids.b, true, meta()));
    await step('undepended', commands.removeDependency(ids.c, ids.a, meta()));
  });

  after(async () => {
    await store.close();
  });

  describe('a task as of a position', () => {
    it('shows the fields as created before the update, and every changed field after it', async () => {
      const before = await audit.getTaskAsOf(ids.a, String(at.created));
      expect(before.asOf.position).to.equal(at.created);
      expect(before.task).to.include({ title: 'A', description: '', priority: 'normal', estimate: null, status: 'pending', role: null });
      expect(before.task).to.deep.include({ tags: [], files: [], requiredCapabilities: [], metadata: {} });
      const after = await audit.getTaskAsOf(ids.a, String(at.updated));
      expect(after.task).to.include({ title: 'A2', description: 'now described', priority: 'high', estimate: 3 });
      expect(after.task).to.deep.include({ tags: ['x', 'y'], files: ['src/a.ts'], requiredCapabilities: ['code_writing'], metadata: { ticket: 7 } });
      expect(after.task.updatedAt).to.equal(minute(at.updated - 1));
    });

    it('follows a move: the parent before it, none after it', async () => {
      expect((await audit.getTaskAsOf(ids.b, String(at.depended))).task).to.include({ parentId: ids.a, depth: 1 });
      expect((await audit.getTaskAsOf(ids.b, String(at.moved))).task).to.include({ parentId: null, depth: 0 });
    });

    it('follows status, role and a dependency through its kinds', async () => {
      expect((await audit.getTaskAsOf(ids.a, String(at.started))).task).to.include({ status: 'in_progress', role: null });
      expect((await audit.getTaskAsOf(ids.a, String(at.assigned))).task).to.include({ role: 'coder' });
      const hard = (await audit.getTaskAsOf(ids.c, String(at.depended))).task;
      expect(hard.dependencies).to.deep.equal([{ dependsOn: ids.a, kind: 'hard' }]);
      expect(hard).to.include({ openDependencies: 1, ready: false });
      expect((await audit.getTaskAsOf(ids.c, String(at.softened))).task.dependencies).to.deep.equal([{ dependsOn: ids.a, kind: 'soft' }]);
      expect((await audit.getTaskAsOf(ids.c)).task).to.deep.include({ dependencies: [], ready: true });
    });

    it('refuses a deleted task with 404 TASK_NOT_FOUND saying it was deleted before, and one created later saying so', async () => {
      const gone = await refusal(audit.getTaskAsOf(ids.b, String(at.deleted)));
      expect(gone).to.include({ code: 'TASK_NOT_FOUND', status: 404 });
      expect(gone.message).to.match(/deleted before, at position \d+/);
      const early = await refusal(audit.getTaskAsOf(ids.c, String(at.project)));
      expect(early.message).to.match(/created later, at position \d+/);
      const never = await refusal(audit.getTaskAsOf('no-such-task'));
      expect(never.message).to.match(/never existed/);
    });

    it('refuses a position past the head with 400 POSITION_NOT_REACHED and an unreadable point with 400 INVALID_POINT', async () => {
      const head = await store.headPosition();
      expect(await refusal(audit.getTaskAsOf(ids.a, String(head + 1)))).to.include({ code: 'POSITION_NOT_REACHED', status: 400 });
      expect(await refusal(audit.getTaskAsOf(ids.a, 'yesterday'))).to.include({ code: 'INVALID_POINT', status: 400 });
    });
  });

  describe('a point given as a time', () => {
    it('reflects the last position recorded at or before it, normalised to UTC', async () => {
      // The store's clock gives position p the time minute(p - 1); the same instant written at +02:00 reads two hours later.
      const instant = T0 + (at.updated - 1) * 60_000 + 30_000;
      const inZone = new Date(instant + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      const answer = await audit.getTaskAsOf(ids.a, inZone);
      expect(answer.asOf).to.deep.equal({ position: at.updated, time: minute(at.updated - 1) });
      expect((await audit.getTaskAsOf(ids.a, new Date(instant).toISOString())).asOf.position).to.equal(at.updated);
      expect(answer.task.title).to.equal('A2');
    });

    it('before the first event gives the empty state: no task, a project that did not exist yet', async () => {
      const early = minute(-5);
      expect(await refusal(audit.getTaskAsOf(ids.a, early))).to.include({ code: 'TASK_NOT_FOUND' });
      const project = await audit.getProjectAsOf('p1', early, { limit: 10 });
      expect(project).to.deep.include({ asOf: { position: 0, time: null }, exists: false, items: [], nextCursor: null });
      expect(project.project.taskCount).to.equal(0);
    });
  });

  describe('a project as of a point', () => {
    it('gives its summary with counts by status and its tasks, paginated in creation order', async () => {
      const first = await audit.getProjectAsOf('p1', String(at.started), { limit: 2 });
      expect(first.project).to.include({ name: 'Apollo', description: 'Moon', taskCount: 3 });
      expect(first.project.byStatus).to.include({ pending: 2, in_progress: 1 });
      expect(first.items.map((t) => t.id)).to.deep.equal([ids.a, ids.b]);
      const second = await audit.getProjectAsOf('p1', String(at.started), { limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((t) => t.id)).to.deep.equal([ids.c]);
      expect(second.nextCursor).to.equal(null);
      expect((await audit.getProjectAsOf('p1', undefined, { limit: 10 })).items.map((t) => t.id)).to.deep.equal([ids.a, ids.c]);
    });

    it('refuses a project that never existed with 404 PROJECT_NOT_FOUND', async () => {
      expect(await refusal(audit.getProjectAsOf('nowhere', undefined, { limit: 10 }))).to.include({ code: 'PROJECT_NOT_FOUND', status: 404 });
    });
  });

  describe('a diff between two points', () => {
    it('lists created tasks from the start, with their values', async () => {
      const diff = await audit.diffProject('p1', '0', String(at.created), { limit: 10 });
      expect(diff.counts).to.deep.equal({ created: 3, deleted: 0, changed: 0 });
      expect(diff.items.every((d) => d.change === 'created' && d.after)).to.equal(true);
    });

    it('lists changed fields with before and after, a deleted task, and a move', async () => {
      const diff = await audit.diffProject('p1', String(at.created), undefined, { limit: 10 });
      expect(diff.counts).to.deep.equal({ created: 0, deleted: 1, changed: 1 });
      const a = diff.items.find((d) => d.taskId === ids.a)!;
      const fields = Object.fromEntries(a.changes.map((c) => [c.field, [c.before, c.after]]));
      expect(fields).to.deep.equal({
        title: ['A', 'A2'],
        description: ['', 'now described'],
        priority: ['normal', 'high'],
        tags: [[], ['x', 'y']],
        estimate: [null, 3],
        files: [[], ['src/a.ts']],
        requiredCapabilities: [[], ['code_writing']],
        metadata: [{}, { ticket: 7 }],
        status: ['pending', 'in_progress'],
        role: [null, 'coder'],
      });
      expect(diff.items.find((d) => d.taskId === ids.b)).to.deep.include({ change: 'deleted' });
      // C gained a dependency and lost it again: between these points it is the same.
      expect(diff.items.find((d) => d.taskId === ids.c)).to.equal(undefined);
      const moved = await audit.diffProject('p1', String(at.depended), String(at.moved), { limit: 10 });
      expect(moved.items.map((d) => [d.taskId, d.changes])).to.deep.equal([[ids.b, [{ field: 'parentId', before: ids.a, after: null }]]]);
    });

    it('lists dependencies added, kinds changed and removed, at times as well as positions', async () => {
      const added = await audit.diffProject('p1', String(at.updated), String(at.depended), { limit: 10 });
      expect(added.items[0]!.dependencies.added).to.deep.equal([{ dependsOn: ids.a, kind: 'hard' }]);
      const softened = await audit.diffProject('p1', minute(at.assigned - 1), minute(at.softened - 1), { limit: 10 });
      expect(softened.from.position).to.equal(at.assigned);
      expect(softened.items[0]!.dependencies.kindChanged).to.deep.equal([{ dependsOn: ids.a, before: 'hard', after: 'soft' }]);
      const removed = await audit.diffProject('p1', String(at.deleted), String(at.undepended), { limit: 10 });
      expect(removed.items[0]!.dependencies.removed).to.deep.equal([{ dependsOn: ids.a, kind: 'soft' }]);
    });

    it('pages a long diff by task id', async () => {
      const first = await audit.diffProject('p1', '0', undefined, { limit: 1 });
      const second = await audit.diffProject('p1', '0', undefined, { limit: 1, cursor: first.nextCursor! });
      expect(first.items).to.have.length(1);
      expect(second.items).to.have.length(1);
      expect(second.items[0]!.taskId > first.items[0]!.taskId).to.equal(true);
      expect(second.nextCursor).to.equal(null);
    });
  });
});
