import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { TaskTreeNode } from '../../../src/commands/project/tree.js';
import {
  STATUS_TRANSITIONS,
  type DependencyAdded,
  type DependencyRemoved,
  type ProjectCreated,
  type ProjectEvent,
  type TaskCreated,
  type TaskDeleted,
  type TaskFields,
  type TaskMoved,
  type TaskStatusChanged,
  type TaskUpdated,
} from '../../../src/events/project.js';
import type { CommandMetadata } from '../../../src/events/types.js';
import { DomainError } from '../../../src/errors.js';
import { deciderSpec, storedEvents } from '../../support/deciderSpec.js';
import { seeded } from '../../support/random.js';
import { type DependencyKind, TASK_STATUSES, type TaskStatus } from '../../../src/events/vocabulary.js';

const P = 'p1';
const NOW = '2026-01-01T00:00:00.000Z';
const META: CommandMetadata = { now: NOW, commandId: 'c1', actor: 'test', tool: 'test' };

describe('Project', () => {
  const spec = deciderSpec(projectDecider());
  const shallow = deciderSpec(projectDecider({ maxDepth: 2, maxTreeNodes: 1000 }));

  describe('when the stream is empty', () => {
    const commands: ProjectCommand[] = [
      command('UpdateTask', { taskId: 'a', changes: { title: 'x' } }),
      command('MoveTask', { taskId: 'a', parentId: null }),
      command('ChangeTaskStatus', { taskId: 'a', status: 'in_progress' }),
      command('DeleteTask', { taskId: 'a' }),
      command('AddDependency', { taskId: 'a', dependsOn: 'b' }),
      command('RemoveDependency', { taskId: 'a', dependsOn: 'b' }),
    ];
    for (const cmd of commands) {
      it(`refuses ${cmd.type} with PROJECT_NOT_FOUND`, () =>
        spec
          .given([])
          .when(cmd)
          .thenThrows('PROJECT_NOT_FOUND', (err) => expect(err.status).to.equal(404)));
    }
  });

  describe('when creating a project', () => {
    it('creates it, description defaulting to empty', () =>
      spec
        .given([])
        .when(command('CreateProject', { projectId: P, name: 'Project one' }))
        .then([projectCreated()]));

    it('keeps the description given', () =>
      spec
        .given([])
        .when(command('CreateProject', { projectId: P, name: 'Project one', description: 'About it' }))
        .then([{ ...projectCreated(), data: { ...projectCreated().data, description: 'About it' } }]));

    it('refuses a project that exists with PROJECT_EXISTS', () =>
      spec
        .given([projectCreated()])
        .when(command('CreateProject', { projectId: P, name: 'Again' }))
        .thenThrows('PROJECT_EXISTS', (err) => expect(err.status).to.equal(409)));
  });

  describe('when creating a task', () => {
    it('fills the defaults and deduplicates the lists', () =>
      spec
        .given([projectCreated()])
        .when(
          command('CreateTask', {
            projectId: P,
            taskId: 'a',
            task: { title: 'Task a', tags: ['x', 'y', 'x'], files: ['f.ts', 'f.ts'], requiredCapabilities: ['testing', 'testing'] },
          }),
        )
        .then([taskCreated('a', { tags: ['x', 'y'], files: ['f.ts'], requiredCapabilities: ['testing'] })]));

    it('keeps every field given', () => {
      const fields: TaskFields = {
        title: 'Full',
        description: 'All of it',
        priority: 'critical',
        tags: ['t'],
        estimate: 3.5,
        files: ['src/a.ts'],
        requiredCapabilities: ['code_writing'],
        metadata: { ticket: 42 },
      };
      spec
        .given([projectCreated()])
        .when(command('CreateTask', { projectId: P, taskId: 'a', task: fields }))
        .then([taskCreated('a', fields)]);
    });

    it('creates the default project implicitly, first', () =>
      spec
        .given([])
        .when(command('CreateTask', { projectId: 'default', taskId: 'a', task: { title: 'Task a' } }))
        .then([
          {
            type: 'ProjectCreated',
            data: { projectId: 'default', name: 'Default project', description: 'Tasks created without a project.', createdAt: NOW },
          },
          taskCreated('a', { projectId: 'default' }),
        ]));

    it('refuses a task in another missing project with PROJECT_NOT_FOUND', () =>
      spec
        .given([])
        .when(command('CreateTask', { projectId: 'nope', taskId: 'a', task: { title: 'Task a' } }))
        .thenThrows('PROJECT_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ projectId: 'nope' })));

    it('creates a subtask under an existing parent', () =>
      spec
        .given(tasks('a'))
        .when(command('CreateTask', { projectId: P, taskId: 'b', parentId: 'a', task: { title: 'Task b' } }))
        .then([taskCreated('b', { parentId: 'a' })]));

    it('refuses an unknown parent with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('CreateTask', { projectId: P, taskId: 'b', parentId: 'ghost', task: { title: 'Task b' } }))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ taskId: 'ghost' })));

    it('accepts a task at exactly the depth limit', () =>
      shallow
        .given(chain('a', 'b'))
        .when(command('CreateTask', { projectId: P, taskId: 'c', parentId: 'b', task: { title: 'Task c' } }))
        .then([taskCreated('c', { parentId: 'b' })]));

    it('refuses a task below the depth limit with DEPTH_LIMIT_EXCEEDED', () =>
      shallow
        .given(chain('a', 'b', 'c'))
        .when(command('CreateTask', { projectId: P, taskId: 'd', parentId: 'c', task: { title: 'Task d' } }))
        .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => {
          expect(err.status).to.equal(422);
          expect(err.details).to.deep.equal({ taskId: 'd', depth: 3, maxDepth: 2 });
        }));

    it('refuses a duplicate task id with TASK_EXISTS', () =>
      spec
        .given(tasks('a'))
        .when(command('CreateTask', { projectId: P, taskId: 'a', task: { title: 'Again' } }))
        .thenThrows('TASK_EXISTS', (err) => expect(err.status).to.equal(409)));
  });

  describe('when creating a task tree', () => {
    const tree = {
      id: 'r',
      title: 'Task r',
      children: [
        { id: 'a', title: 'Task a', tags: ['x', 'x'], children: [{ id: 'a1', title: 'Task a1' }] },
        { id: 'b', title: 'Task b' },
      ],
    };

    it('creates every task in pre-order with its parent', () =>
      spec
        .given([projectCreated()])
        .when(command('CreateTaskTree', { projectId: P, root: tree }))
        .then([
          taskCreated('r'),
          taskCreated('a', { parentId: 'r', tags: ['x'] }),
          taskCreated('a1', { parentId: 'a' }),
          taskCreated('b', { parentId: 'r' }),
        ]));

    it('hangs the tree under an existing parent', () =>
      spec
        .given(tasks('p'))
        .when(command('CreateTaskTree', { projectId: P, parentId: 'p', root: { id: 'r', title: 'Task r' } }))
        .then([taskCreated('r', { parentId: 'p' })]));

    it('creates the default project implicitly, first', () =>
      spec
        .given([])
        .when(command('CreateTaskTree', { projectId: 'default', root: { id: 'r', title: 'Task r' } }))
        .then([
          {
            type: 'ProjectCreated',
            data: { projectId: 'default', name: 'Default project', description: 'Tasks created without a project.', createdAt: NOW },
          },
          taskCreated('r', { projectId: 'default' }),
        ]));

    it('accepts exactly maxTreeNodes tasks', () =>
      deciderSpec(projectDecider({ maxDepth: 10, maxTreeNodes: 4 }))
        .given([projectCreated()])
        .when(command('CreateTaskTree', { projectId: P, root: tree }))
        .then([
          taskCreated('r'),
          taskCreated('a', { parentId: 'r', tags: ['x'] }),
          taskCreated('a1', { parentId: 'a' }),
          taskCreated('b', { parentId: 'r' }),
        ]));

    it('refuses more than maxTreeNodes tasks with TREE_TOO_LARGE, emitting nothing', () =>
      deciderSpec(projectDecider({ maxDepth: 10, maxTreeNodes: 3 }))
        .given([projectCreated()])
        .when(command('CreateTaskTree', { projectId: P, root: tree }))
        .thenThrows('TREE_TOO_LARGE', (err) => {
          expect(err.status).to.equal(422);
          expect(err.details).to.deep.equal({ maxTreeNodes: 3 });
        }));

    it('refuses a tree deeper than the limit with DEPTH_LIMIT_EXCEEDED', () =>
      shallow
        .given([projectCreated()])
        .when(
          command('CreateTaskTree', {
            projectId: P,
            root: node('r', node('a', node('b', node('c')))),
          }),
        )
        .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => expect(err.details).to.deep.equal({ taskId: 'c', depth: 3, maxDepth: 2 })));

    it('counts the depth of the parent it hangs under', () =>
      shallow
        .given(chain('p', 'q'))
        .when(command('CreateTaskTree', { projectId: P, parentId: 'q', root: node('r', node('a')) }))
        .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => expect(err.details).to.deep.equal({ taskId: 'a', depth: 3, maxDepth: 2 })));

    it('refuses duplicate ids within the tree with TASK_EXISTS', () =>
      spec
        .given([projectCreated()])
        .when(command('CreateTaskTree', { projectId: P, root: node('r', node('a'), node('a')) }))
        .thenThrows('TASK_EXISTS', (err) => expect(err.details).to.deep.equal({ taskId: 'a' })));

    it('refuses an id that already exists in the project with TASK_EXISTS', () =>
      spec
        .given(tasks('a'))
        .when(command('CreateTaskTree', { projectId: P, root: node('r', node('a')) }))
        .thenThrows('TASK_EXISTS'));

    it('refuses an unknown parent with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('CreateTaskTree', { projectId: P, parentId: 'ghost', root: node('r') }))
        .thenThrows('TASK_NOT_FOUND'));
  });

  describe('when updating a task', () => {
    it('emits only the fields that changed, lists deduplicated', () =>
      spec
        .given([...tasks('a'), taskUpdated('a', { tags: ['old'] })])
        .when(
          command('UpdateTask', {
            taskId: 'a',
            changes: { title: 'Renamed', description: '', priority: 'normal', tags: ['old', 'new', 'new'], estimate: 2 },
          }),
        )
        .then([taskUpdated('a', { title: 'Renamed', tags: ['old', 'new'], estimate: 2 })]));

    it('does nothing when every field is unchanged', () =>
      spec
        .given([...tasks('a'), taskUpdated('a', { tags: ['x'], metadata: { k: 1 } })])
        .when(command('UpdateTask', { taskId: 'a', changes: { title: 'Task a', tags: ['x', 'x'], metadata: { k: 1 }, estimate: null } }))
        .thenNothingHappened());

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('UpdateTask', { taskId: 'ghost', changes: { title: 'x' } }))
        .thenThrows('TASK_NOT_FOUND'));

    it('accepts the current version of the task', () =>
      spec
        .given(tasks('a'))
        .when(command('UpdateTask', { taskId: 'a', changes: { title: 'x' }, expectedVersion: 1 }))
        .then([taskUpdated('a', { title: 'x' })]));

    it('refuses a stale version with CONCURRENCY_CONFLICT', () =>
      spec
        .given([...tasks('a'), taskUpdated('a', { title: 'y' })])
        .when(command('UpdateTask', { taskId: 'a', changes: { title: 'x' }, expectedVersion: 1 }))
        .thenThrows('CONCURRENCY_CONFLICT', (err) => {
          expect(err.status).to.equal(412);
          expect(err.details).to.include({ taskId: 'a', expected: 1, actual: 2 });
        }));

    it('keeps the version when other tasks of the project change, even ones linked to it', () =>
      spec
        .given([
          ...tasks('a', 'b'),
          taskUpdated('b', { title: 'b2' }),
          statusChanged('b', 'pending', 'blocked'),
          dependencyAdded('b', 'a'),
          taskCreated('child', { parentId: 'a' }),
          taskMoved('b', null, 'child'),
        ])
        .when(command('UpdateTask', { taskId: 'a', changes: { title: 'x' }, expectedVersion: 1 }))
        .then([taskUpdated('a', { title: 'x' })]));

    const ownChanges: [string, ProjectEvent[]][] = [
      ['TaskUpdated', [taskUpdated('a', { title: 'y' })]],
      ['TaskMoved', [taskMoved('a', null, 'b')]],
      ['TaskStatusChanged', [statusChanged('a', 'pending', 'blocked')]],
      ['DependencyAdded', [dependencyAdded('a', 'b')]],
      ['DependencyRemoved', [dependencyAdded('a', 'b'), dependencyRemoved('a', 'b')]],
    ];
    for (const [name, events] of ownChanges) {
      it(`moves the version on ${name} of that task`, () =>
        spec
          .given([...tasks('a', 'b'), ...events])
          .when(command('UpdateTask', { taskId: 'a', changes: { title: 'x' }, expectedVersion: 1 }))
          .thenThrows('CONCURRENCY_CONFLICT', (err) => expect(err.details['actual']).to.equal(2 + events.length)));
    }
  });

  describe('when moving a task', () => {
    it('re-parents it', () =>
      spec
        .given([...tasks('r1', 'r2'), taskCreated('c', { parentId: 'r1' })])
        .when(command('MoveTask', { taskId: 'c', parentId: 'r2' }))
        .then([taskMoved('c', 'r1', 'r2')]));

    it('moves it to the root with a null parent', () =>
      spec
        .given([...tasks('r1'), taskCreated('c', { parentId: 'r1' })])
        .when(command('MoveTask', { taskId: 'c', parentId: null }))
        .then([taskMoved('c', 'r1', null)]));

    it('refuses a move under its own descendant with HIERARCHY_CYCLE and the path', () =>
      spec
        .given(chain('a', 'b', 'c'))
        .when(command('MoveTask', { taskId: 'a', parentId: 'c' }))
        .thenThrows('HIERARCHY_CYCLE', (err) => {
          expect(err.status).to.equal(409);
          expect(err.details).to.deep.equal({ taskId: 'a', parentId: 'c', path: ['a', 'b', 'c'] });
        }));

    it('refuses a move under itself with HIERARCHY_CYCLE', () =>
      spec
        .given(tasks('a'))
        .when(command('MoveTask', { taskId: 'a', parentId: 'a' }))
        .thenThrows('HIERARCHY_CYCLE', (err) => expect(err.details['path']).to.deep.equal(['a'])));

    it('accepts a subtree that fits under the depth limit', () =>
      shallow
        .given([...chain('x', 'y'), ...branch('a', 'b')])
        .when(command('MoveTask', { taskId: 'a', parentId: 'x' }))
        .then([taskMoved('a', null, 'x')]));

    it('refuses a move whose subtree would pass the depth limit with DEPTH_LIMIT_EXCEEDED', () =>
      shallow
        .given([...chain('x', 'y'), ...branch('a', 'b')])
        .when(command('MoveTask', { taskId: 'a', parentId: 'y' }))
        .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => expect(err.details).to.deep.equal({ taskId: 'a', depth: 3, maxDepth: 2 })));

    it('remembers the new depth of a moved subtree', () =>
      shallow
        .given([...tasks('x'), ...branch('a', 'b'), taskMoved('a', null, 'x')])
        .when(command('CreateTask', { projectId: P, taskId: 'c', parentId: 'b', task: { title: 'Task c' } }))
        .thenThrows('DEPTH_LIMIT_EXCEEDED', (err) => expect(err.details['depth']).to.equal(3)));

    it('refuses an unknown parent with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('MoveTask', { taskId: 'a', parentId: 'ghost' }))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ taskId: 'ghost' })));

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('MoveTask', { taskId: 'ghost', parentId: 'a' }))
        .thenThrows('TASK_NOT_FOUND'));

    it('does nothing when the parent is the same', () =>
      spec
        .given(chain('a', 'b'))
        .when(command('MoveTask', { taskId: 'b', parentId: 'a' }))
        .thenNothingHappened());

    it('does nothing when a root task moves to the root', () =>
      spec
        .given(tasks('a'))
        .when(command('MoveTask', { taskId: 'a', parentId: null }))
        .thenNothingHappened());
  });

  describe('when changing the status of a task', () => {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        if (from === to) {
          it(`does nothing when ${from} stays ${from}`, () =>
            spec
              .given(taskIn(from))
              .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
              .thenNothingHappened());
        } else if (STATUS_TRANSITIONS[from].includes(to)) {
          it(`accepts ${from} → ${to}`, () =>
            spec
              .given(taskIn(from))
              .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
              .then([statusChanged('a', from, to)]));
        } else {
          it(`refuses ${from} → ${to} with INVALID_STATUS_TRANSITION`, () =>
            spec
              .given(taskIn(from))
              .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
              .thenThrows('INVALID_STATUS_TRANSITION', (err) => {
                expect(err.status).to.equal(409);
                expect(err.details).to.deep.equal({ taskId: 'a', from, to, allowed: STATUS_TRANSITIONS[from] });
              }));
        }
      }
    }

    it('records the reason when one is given', () =>
      spec
        .given(tasks('a'))
        .when(command('ChangeTaskStatus', { taskId: 'a', status: 'blocked', reason: 'waiting on review' }))
        .then([statusChanged('a', 'pending', 'blocked', 'waiting on review')]));

    const needing: [TaskStatus, TaskStatus][] = [
      ['pending', 'in_progress'],
      ['in_progress', 'review'],
      ['pending', 'completed'],
    ];
    for (const [from, to] of needing) {
      it(`refuses ${from} → ${to} with an open hard dependency with DEPENDENCIES_NOT_MET`, () =>
        spec
          .given([
            ...taskIn(from),
            ...[taskCreated('d1'), taskCreated('d2'), statusChanged('d1', 'pending', 'completed')],
            ...[dependencyAdded('a', 'd1'), dependencyAdded('a', 'd2')],
          ])
          .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
          .thenThrows('DEPENDENCIES_NOT_MET', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.equal({ taskId: 'a', openDependencies: ['d2'] });
          }));

      it(`accepts ${from} → ${to} once every hard dependency is completed`, () =>
        spec
          .given([...taskIn(from), taskCreated('d'), dependencyAdded('a', 'd'), statusChanged('d', 'pending', 'completed')])
          .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
          .then([statusChanged('a', from, to)]));

      it(`accepts ${from} → ${to} with an open soft dependency`, () =>
        spec
          .given([...taskIn(from), taskCreated('d'), dependencyAdded('a', 'd', 'soft')])
          .when(command('ChangeTaskStatus', { taskId: 'a', status: to }))
          .then([statusChanged('a', from, to)]));
    }

    it('lets a task with open hard dependencies be blocked or cancelled', () => {
      const given = [...tasks('a', 'd'), dependencyAdded('a', 'd')];
      for (const status of ['blocked', 'cancelled'] as const) {
        spec
          .given(given)
          .when(command('ChangeTaskStatus', { taskId: 'a', status }))
          .then([statusChanged('a', 'pending', status)]);
      }
    });

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('ChangeTaskStatus', { taskId: 'ghost', status: 'blocked' }))
        .thenThrows('TASK_NOT_FOUND'));

    it('refuses a stale version with CONCURRENCY_CONFLICT', () =>
      spec
        .given([...tasks('a'), statusChanged('a', 'pending', 'blocked')])
        .when(command('ChangeTaskStatus', { taskId: 'a', status: 'pending', expectedVersion: 1 }))
        .thenThrows('CONCURRENCY_CONFLICT'));
  });

  describe('when deleting a task', () => {
    // r ─┬─ c1 ── g        g → x, c1 → g (inside), y → c2, z → r
    //    └─ c2
    const subtree = [
      ...tasks('r', 'x', 'y', 'z'),
      taskCreated('c1', { parentId: 'r' }),
      taskCreated('c2', { parentId: 'r' }),
      taskCreated('g', { parentId: 'c1' }),
      dependencyAdded('g', 'x'),
      dependencyAdded('c1', 'g'),
      dependencyAdded('y', 'c2', 'soft'),
      dependencyAdded('z', 'r'),
    ];
    const deletion = [
      dependencyRemoved('g', 'x'),
      dependencyRemoved('c1', 'g'),
      dependencyRemoved('y', 'c2'),
      dependencyRemoved('z', 'r'),
      taskDeleted('g'),
      taskDeleted('c1'),
      taskDeleted('c2'),
      taskDeleted('r'),
    ];

    it('removes every edge touching the subtree first, then deletes children before parents', () =>
      spec
        .given(subtree)
        .when(command('DeleteTask', { taskId: 'r' }))
        .then(deletion));

    it('deletes a leaf', () =>
      spec
        .given(tasks('a'))
        .when(command('DeleteTask', { taskId: 'a', recursive: false }))
        .then([taskDeleted('a')]));

    it('refuses a non-recursive delete of a task with children with TASK_HAS_CHILDREN', () =>
      spec
        .given(subtree)
        .when(command('DeleteTask', { taskId: 'r', recursive: false }))
        .thenThrows('TASK_HAS_CHILDREN', (err) => expect(err.details).to.deep.equal({ taskId: 'r', children: ['c1', 'c2'] })));

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('DeleteTask', { taskId: 'ghost' }))
        .thenThrows('TASK_NOT_FOUND'));

    it('leaves no dependency on a deleted task behind', () =>
      spec
        .given([...subtree, ...deletion])
        .when(command('AddDependency', { taskId: 'x', dependsOn: 'g' }))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ taskId: 'g' })));

    it('frees the tasks that depended on the deleted ones', () =>
      spec
        .given([...subtree, ...deletion])
        .when(command('RemoveDependency', { taskId: 'z', dependsOn: 'r' }))
        .thenThrows('DEPENDENCY_NOT_FOUND'));
  });

  describe('when adding a dependency', () => {
    it('adds a hard dependency by default', () =>
      spec
        .given(tasks('a', 'b'))
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b' }))
        .then([dependencyAdded('a', 'b')]));

    it('adds a soft dependency', () =>
      spec
        .given(tasks('a', 'b'))
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b', kind: 'soft' }))
        .then([dependencyAdded('a', 'b', 'soft')]));

    it('refuses a task depending on itself with SELF_DEPENDENCY', () =>
      spec
        .given(tasks('a'))
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'a' }))
        .thenThrows('SELF_DEPENDENCY', (err) => expect(err.status).to.equal(422)));

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('AddDependency', { taskId: 'ghost', dependsOn: 'a' }))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ taskId: 'ghost' })));

    it('refuses an unknown target with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'ghost', dependsOnProjectId: P }))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.details).to.deep.equal({ taskId: 'ghost' })));

    it('refuses a target in another project with CROSS_PROJECT_DEPENDENCY', () =>
      spec
        .given(tasks('a'))
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'elsewhere', dependsOnProjectId: 'p2' }))
        .thenThrows('CROSS_PROJECT_DEPENDENCY', (err) => {
          expect(err.status).to.equal(422);
          expect(err.details).to.deep.equal({ taskId: 'a', dependsOn: 'elsewhere', projectId: P, dependsOnProjectId: 'p2' });
        }));

    it('refuses an existing dependency of the same kind with DEPENDENCY_EXISTS', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('a', 'b', 'soft')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b', kind: 'soft' }))
        .thenThrows('DEPENDENCY_EXISTS', (err) => expect(err.details).to.deep.equal({ taskId: 'a', dependsOn: 'b', kind: 'soft' })));

    it('changes the kind of an existing dependency', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('a', 'b', 'soft')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b' }))
        .then([dependencyAdded('a', 'b', 'hard')]));

    it('refuses a direct 2-cycle with DEPENDENCY_CYCLE', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('b', 'a')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b' }))
        .thenThrows('DEPENDENCY_CYCLE', (err) => {
          expect(err.status).to.equal(409);
          expect(err.details).to.include({ taskId: 'a', dependsOn: 'b' });
        }));

    it('refuses a longer cycle with DEPENDENCY_CYCLE', () =>
      spec
        .given([...tasks('a', 'b', 'c'), dependencyAdded('c', 'b'), dependencyAdded('b', 'a')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'c' }))
        .thenThrows('DEPENDENCY_CYCLE', (err) => expect(err.details).to.include({ taskId: 'a', dependsOn: 'c' })));

    it('names the closed path of a direct 2-cycle', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('b', 'a')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'b' }))
        .thenThrows('DEPENDENCY_CYCLE', (err) => expect(err.details['cycle']).to.deep.equal(['a', 'b', 'a'])));

    it('names the closed path of a longer cycle, task → target → … → task', () =>
      spec
        .given([...tasks('a', 'b', 'c'), dependencyAdded('c', 'b'), dependencyAdded('b', 'a')])
        .when(command('AddDependency', { taskId: 'a', dependsOn: 'c' }))
        .thenThrows('DEPENDENCY_CYCLE', (err) => expect(err.details['cycle']).to.deep.equal(['a', 'c', 'b', 'a'])));

    describe('when edges arrive against the creation order', () => {
      // Created a…e; every edge points at a later task, so each add reorders the topological order.
      const scrambled = [
        ...tasks('a', 'b', 'c', 'd', 'e'),
        ...[dependencyAdded('a', 'b'), dependencyAdded('b', 'c'), dependencyAdded('c', 'd'), dependencyAdded('a', 'e')],
      ];

      it('finds no false cycle', () => {
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'e', dependsOn: 'd' }))
          .then([dependencyAdded('e', 'd')]);
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'b', dependsOn: 'e' }))
          .then([dependencyAdded('b', 'e')]);
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'a', dependsOn: 'd' }))
          .then([dependencyAdded('a', 'd')]);
      });

      it('still finds the true cycles', () => {
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'd', dependsOn: 'a' }))
          .thenThrows('DEPENDENCY_CYCLE');
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'c', dependsOn: 'b' }))
          .thenThrows('DEPENDENCY_CYCLE');
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'e', dependsOn: 'a' }))
          .thenThrows('DEPENDENCY_CYCLE');
      });

      it('names the closed path through the reordered tasks', () =>
        spec
          .given(scrambled)
          .when(command('AddDependency', { taskId: 'd', dependsOn: 'a' }))
          .thenThrows('DEPENDENCY_CYCLE', (err) => expect(err.details['cycle']).to.deep.equal(['d', 'a', 'b', 'c', 'd'])));
    });

    describe('when a random graph of 200 tasks grows edge by edge', () => {
      for (const seed of [1, 2, 3, 42, 2026]) {
        it(`decides like a brute-force reachability check (seed ${seed})`, () => randomGraphAgreesWithBruteForce(seed));
      }
    });
  });

  describe('when removing a dependency', () => {
    it('removes it', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('a', 'b')])
        .when(command('RemoveDependency', { taskId: 'a', dependsOn: 'b' }))
        .then([dependencyRemoved('a', 'b')]));

    it('refuses a dependency that does not exist with DEPENDENCY_NOT_FOUND', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('b', 'a')])
        .when(command('RemoveDependency', { taskId: 'a', dependsOn: 'b' }))
        .thenThrows('DEPENDENCY_NOT_FOUND', (err) => {
          expect(err.status).to.equal(404);
          expect(err.details).to.deep.equal({ taskId: 'a', dependsOn: 'b' });
        }));

    it('lets the reverse edge be added once removed', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('a', 'b'), dependencyRemoved('a', 'b')])
        .when(command('AddDependency', { taskId: 'b', dependsOn: 'a' }))
        .then([dependencyAdded('b', 'a')]));

    it('refuses an unknown task with TASK_NOT_FOUND', () =>
      spec
        .given(tasks('a'))
        .when(command('RemoveDependency', { taskId: 'ghost', dependsOn: 'a' }))
        .thenThrows('TASK_NOT_FOUND'));
  });

  // ─── Fixtures ──────────────────────────────────────────────────────────────────────────────────

  function command<T extends ProjectCommand['type']>(type: T, data: Extract<ProjectCommand, { type: T }>['data']): ProjectCommand {
    return { type, data, metadata: META } as ProjectCommand;
  }

  function node(id: string, ...children: TaskTreeNode[]): TaskTreeNode {
    return { id, title: `Task ${id}`, ...(children.length > 0 ? { children } : {}) };
  }

  function projectCreated(): ProjectCreated {
    return { type: 'ProjectCreated', data: { projectId: P, name: 'Project one', description: '', createdAt: NOW } };
  }

  function taskCreated(taskId: string, opts: Partial<TaskFields> & { parentId?: string | null; projectId?: string } = {}): TaskCreated {
    const { parentId = null, projectId = P, ...fields } = opts;
    return {
      type: 'TaskCreated',
      data: {
        taskId,
        projectId,
        parentId,
        title: `Task ${taskId}`,
        description: '',
        status: 'pending',
        priority: 'normal',
        tags: [],
        estimate: null,
        files: [],
        requiredCapabilities: [],
        metadata: {},
        ...fields,
        createdAt: NOW,
      },
    };
  }

  /** A project holding root tasks: revision 0 is the project, revision i the i-th task. */
  function tasks(...ids: string[]): ProjectEvent[] {
    return [projectCreated(), ...ids.map((id) => taskCreated(id))];
  }

  /** A project holding one branch: the first id is a root, each next one a child of the one before. */
  function chain(...ids: string[]): ProjectEvent[] {
    return [projectCreated(), ...branch(...ids)];
  }

  function branch(...ids: string[]): TaskCreated[] {
    return ids.map((id, i) => taskCreated(id, { parentId: i === 0 ? null : ids[i - 1]! }));
  }

  function taskIn(status: TaskStatus): ProjectEvent[] {
    return status === 'pending' ? tasks('a') : [...tasks('a'), statusChanged('a', 'pending', status)];
  }

  function taskUpdated(taskId: string, changes: Partial<TaskFields>): TaskUpdated {
    return { type: 'TaskUpdated', data: { taskId, projectId: P, changes, updatedAt: NOW } };
  }

  function taskMoved(taskId: string, fromParentId: string | null, toParentId: string | null): TaskMoved {
    return { type: 'TaskMoved', data: { taskId, projectId: P, fromParentId, toParentId, movedAt: NOW } };
  }

  function statusChanged(taskId: string, from: TaskStatus, to: TaskStatus, reason?: string): TaskStatusChanged {
    return { type: 'TaskStatusChanged', data: { taskId, projectId: P, from, to, ...(reason ? { reason } : {}), changedAt: NOW } };
  }

  function taskDeleted(taskId: string): TaskDeleted {
    return { type: 'TaskDeleted', data: { taskId, projectId: P, deletedAt: NOW } };
  }

  function dependencyAdded(taskId: string, dependsOn: string, kind: DependencyKind = 'hard'): DependencyAdded {
    return { type: 'DependencyAdded', data: { taskId, projectId: P, dependsOn, kind, addedAt: NOW } };
  }

  function dependencyRemoved(taskId: string, dependsOn: string): DependencyRemoved {
    return { type: 'DependencyRemoved', data: { taskId, projectId: P, dependsOn, removedAt: NOW } };
  }

  /**
   * Creates 200 tasks in a shuffled order, then offers edges one by one: most follow a hidden DAG order (so the
   * graph grows against the creation order), some are arbitrary (so cycles are offered), a few remove an edge.
   * Every decision must match a brute-force depth-first search over a plain adjacency map.
   */
  function randomGraphAgreesWithBruteForce(seed: number): void {
    const { next: random, pick, shuffle } = seeded(seed);
    const ids = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const hidden = new Map(shuffle([...ids]).map((id, i) => [id, i]));
    const decider = projectDecider();
    const state = decider.initialState();
    let revision = 0;
    const apply = (events: readonly ProjectEvent[]) => {
      for (const event of storedEvents(events, revision)) decider.evolve(state, event);
      revision += events.length;
    };
    apply([projectCreated(), ...shuffle([...ids]).map((id) => taskCreated(id))]);

    const deps = new Map<string, Map<string, DependencyKind>>(ids.map((id) => [id, new Map()]));
    const reaches = (from: string, to: string): boolean => {
      const seen = new Set([from]);
      const stack = [from];
      while (stack.length > 0) {
        const at = stack.pop()!;
        if (at === to) return true;
        for (const next of deps.get(at)!.keys()) {
          if (seen.has(next)) continue;
          seen.add(next);
          stack.push(next);
        }
      }
      return false;
    };

    let cycles = 0;
    for (let step = 0; step < 1500; step++) {
      const taskId = pick(ids);
      const existing = [...deps.get(taskId)!.keys()];
      if (existing.length > 0 && random() < 0.1) {
        const dependsOn = pick(existing);
        const decided = decider.decide(command('RemoveDependency', { taskId, dependsOn }), state);
        expect(decided, `remove ${taskId} → ${dependsOn}`).to.deep.equal(dependencyRemoved(taskId, dependsOn));
        apply([dependencyRemoved(taskId, dependsOn)]);
        deps.get(taskId)!.delete(dependsOn);
        continue;
      }
      const candidates = random() < 0.8 ? ids.filter((id) => hidden.get(id)! < hidden.get(taskId)!) : ids;
      if (candidates.length === 0) continue;
      const dependsOn = pick(candidates);
      const kind: DependencyKind = random() < 0.7 ? 'hard' : 'soft';
      const label = `seed ${seed}, step ${step}: ${taskId} → ${dependsOn} (${kind})`;
      const expected =
        taskId === dependsOn
          ? 'SELF_DEPENDENCY'
          : deps.get(taskId)!.get(dependsOn) === kind
            ? 'DEPENDENCY_EXISTS'
            : !deps.get(taskId)!.has(dependsOn) && reaches(dependsOn, taskId)
              ? 'DEPENDENCY_CYCLE'
              : 'accepted';
      let actual = 'accepted';
      try {
        const decided = decider.decide(command('AddDependency', { taskId, dependsOn, kind }), state);
        expect(decided, label).to.deep.equal(dependencyAdded(taskId, dependsOn, kind));
        apply([dependencyAdded(taskId, dependsOn, kind)]);
        deps.get(taskId)!.set(dependsOn, kind);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        actual = error.code;
        if (error.code === 'DEPENDENCY_CYCLE') {
          cycles++;
          // Every step of the reported cycle is a real edge (the new one included) and it comes back to the task.
          const cycle = error.details['cycle'] as string[];
          expect(cycle.slice(0, 2), label).to.deep.equal([taskId, dependsOn]);
          const closed = cycle.at(-1) === taskId ? cycle : [...cycle, taskId];
          const missing = closed.slice(1, -1).filter((at, i) => !deps.get(at)!.has(closed[i + 2]!));
          expect(missing, `${label}: ${closed.join(' → ')}`).to.deep.equal([]);
        }
      }
      expect(actual, label).to.equal(expected);
      // The topological order stays valid: every task sits after everything it depends on.
      const misordered = [...deps].flatMap(([id, targets]) =>
        [...targets.keys()].filter((target) => state.tasks.get(target)!.ord >= state.tasks.get(id)!.ord).map((target) => `${id} → ${target}`),
      );
      expect(misordered, `${label}: topological order`).to.deep.equal([]);
    }
    expect(cycles, `seed ${seed} offered no cycle`).to.be.above(0);
  }
});
