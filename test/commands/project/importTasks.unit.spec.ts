import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { ImportEdge, ImportItem, ImportLink } from '../../../src/commands/project/importTasks.js';
import type { ProjectEvent } from '../../../src/events/project.js';
import type { TaskStatus } from '../../../src/events/vocabulary.js';
import { deciderSpec, fold } from '../../support/deciderSpec.js';
import { metadata, P, projectCreated, T0, taskCreated } from './claimFixtures.js';

/** ImportTasks (issue 16 item 4): one project's whole import as one decision, matched on metadata.source. */

const source = (key: string) => ({ source: { system: 'tm', id: key } });
const item = (key: string, opts: { parent?: string; status?: TaskStatus; title?: string } = {}): ImportItem => ({
  key,
  id: `new-${key}`,
  parentKey: opts.parent ?? null,
  status: opts.status ?? 'pending',
  task: { title: opts.title ?? `Task ${key}`, metadata: source(key) },
});
const importing = (items: ImportItem[], dependencies: ImportEdge[] = [], links: ImportLink[] = []): ProjectCommand => ({
  type: 'ImportTasks',
  data: { projectId: P, project: { name: 'Imported', description: 'From a file' }, system: 'tm', items, dependencies, links },
  metadata: metadata(),
});
const hard = (from: string, to: string): ImportEdge => ({ from, to, kind: 'hard' });

describe('Project › ImportTasks', () => {
  const decider = projectDecider();
  const spec = deciderSpec(decider);
  const decide = (given: ProjectEvent[], command: ProjectCommand) => {
    const decided = decider.decide(command, fold(decider, given));
    return Array.isArray(decided) ? decided : [decided];
  };

  describe('into a project that does not exist yet', () => {
    it('creates the project, the tasks (parents first), their dependencies, links and statuses in one decision', () => {
      const events = decide(
        [],
        importing(
          [item('1'), item('1.1', { parent: '1', status: 'completed' }), item('2', { status: 'review' })],
          [hard('2', '1')],
          [{ from: '2', to: '1.1', kind: 'related' }],
        ),
      );
      expect(events.map((e) => e.type)).to.deep.equal([
        'ProjectCreated',
        'TaskCreated',
        'TaskCreated',
        'TaskCreated',
        'DependencyAdded',
        'TaskLinked',
        'TaskStatusChanged',
        'TaskStatusChanged',
      ]);
      expect(events[0]).to.deep.equal({
        type: 'ProjectCreated',
        data: { projectId: P, name: 'Imported', description: 'From a file', createdAt: T0 },
      });
      const created = events.filter((e) => e.type === 'TaskCreated').map((e) => [e.data.taskId, e.data.parentId]);
      expect(created).to.deep.equal([
        ['new-1', null],
        ['new-1.1', 'new-1'],
        ['new-2', null],
      ]);
      expect(events.filter((e) => e.type === 'TaskStatusChanged').map((e) => [e.data.taskId, e.data.from, e.data.to])).to.deep.equal([
        ['new-1.1', 'pending', 'completed'],
        ['new-2', 'pending', 'review'],
      ]);
    });
  });

  describe('when the project holds the tasks already (the same file again)', () => {
    const before: ProjectEvent[] = [
      projectCreated(),
      taskCreated('t1', { title: 'Task 1', metadata: source('1') }),
      taskCreated('t2', { title: 'Task 2', metadata: source('2') }),
    ];
    const withEdge: ProjectEvent[] = [
      ...before,
      { type: 'DependencyAdded', data: { taskId: 't2', projectId: P, dependsOn: 't1', kind: 'hard', addedAt: T0 } },
    ];

    it('decides nothing', () =>
      spec
        .given(withEdge)
        .when(importing([item('1'), item('2')], [hard('2', '1')]))
        .thenNothingHappened());

    it('updates only what changed, on the tasks it imported before', () =>
      spec
        .given(withEdge)
        .when(importing([item('1', { title: 'Task 1, renamed' }), item('2', { status: 'blocked' })], [hard('2', '1')]))
        .then([
          { type: 'TaskUpdated', data: { taskId: 't1', projectId: P, changes: { title: 'Task 1, renamed' }, updatedAt: T0 } },
          {
            type: 'TaskStatusChanged',
            data: { taskId: 't2', projectId: P, from: 'pending', to: 'blocked', reason: 'imported from tm', changedAt: T0 },
          },
        ]));

    it('puts new subtasks under the task imported before', () => {
      const events = decide(before, importing([item('1'), item('2'), item('1.1', { parent: '1' })]));
      expect(events.map((e) => [e.type, (e.data as { parentId?: string }).parentId])).to.deep.equal([['TaskCreated', 't1']]);
    });
  });

  describe('when the dependencies would loop', () => {
    it('refuses the whole import with DEPENDENCY_CYCLE (409), naming the cycle by source ids', () =>
      spec
        .given([])
        .when(importing([item('a'), item('b'), item('c')], [hard('a', 'b'), hard('b', 'c'), hard('c', 'a')]))
        .thenThrows('DEPENDENCY_CYCLE', (err) => {
          expect(err.status).to.equal(409);
          expect(err.details['cycle']).to.deep.equal(['a', 'b', 'c', 'a']);
        }));

    it('counts the edges the project already has', () =>
      spec
        .given([
          projectCreated(),
          taskCreated('t1', { metadata: source('1') }),
          taskCreated('t2', { metadata: source('2') }),
          { type: 'DependencyAdded', data: { taskId: 't1', projectId: P, dependsOn: 't2', kind: 'hard', addedAt: T0 } },
        ])
        .when(importing([item('1'), item('2')], [hard('2', '1')]))
        .thenThrows('DEPENDENCY_CYCLE'));
  });

  it('refuses a tree deeper than the project allows with DEPTH_LIMIT_EXCEEDED (422)', () => {
    const chain = Array.from({ length: 12 }, (_, i) => item(`k${i}`, i === 0 ? {} : { parent: `k${i - 1}` }));
    spec
      .given([])
      .when(importing(chain))
      .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => expect(err.status).to.equal(422));
  });
});
