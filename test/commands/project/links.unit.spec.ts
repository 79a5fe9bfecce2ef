import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { LeaseExtended, ProjectEvent, TaskLinked, TaskUnlinked } from '../../../src/events/project.js';
import type { LinkKind } from '../../../src/events/vocabulary.js';
import { deciderSpec, fold } from '../../support/deciderSpec.js';
import { at, claimNext, LEASE, metadata, P, T0, taskClaimed, taskCreated, tasks } from './claimFixtures.js';

/** Typed links (issue 15 item 3): non-blocking relations between tasks of one project, and heartbeat status notes. */

const linked = (taskId: string, kind: LinkKind, target: string): TaskLinked => ({
  type: 'TaskLinked',
  data: { taskId, projectId: P, kind, target, linkedAt: T0 },
});
const unlinked = (taskId: string, kind: LinkKind, target: string): TaskUnlinked => ({
  type: 'TaskUnlinked',
  data: { taskId, projectId: P, kind, target, unlinkedAt: T0 },
});
const link = (taskId: string, kind: string, target: string, targetProjectId: string | null = P): ProjectCommand => ({
  type: 'LinkTasks',
  data: { taskId, kind: kind as LinkKind, target, targetProjectId },
  metadata: metadata(),
});
const unlink = (taskId: string, kind: LinkKind, target: string): ProjectCommand => ({
  type: 'UnlinkTasks',
  data: { taskId, kind, target },
  metadata: metadata(),
});

describe('Typed links', () => {
  const decider = projectDecider();
  const spec = deciderSpec(decider);

  describe('LinkTasks', () => {
    it('links two tasks of the project', () =>
      spec
        .given(tasks('a', 'b'))
        .when(link('a', 'duplicates', 'b'))
        .then([linked('a', 'duplicates', 'b')]));

    it('appends nothing when the same link exists (a retried link is harmless)', () =>
      spec
        .given([...tasks('a', 'b'), linked('a', 'related', 'b')])
        .when(link('a', 'related', 'b'))
        .thenNothingHappened());

    it('keeps links of different kinds between the same tasks apart', () =>
      spec
        .given([...tasks('a', 'b'), linked('a', 'related', 'b')])
        .when(link('a', 'duplicates', 'b'))
        .then([linked('a', 'duplicates', 'b')]));

    it('refuses a link to itself with SELF_LINK (400)', () =>
      spec
        .given(tasks('a'))
        .when(link('a', 'related', 'a'))
        .thenThrows('SELF_LINK', (err) => expect(err.status).to.equal(400)));

    it('refuses an unknown kind with INVALID_LINK_KIND (400), listing the allowed kinds', () =>
      spec
        .given(tasks('a', 'b'))
        .when(link('a', 'blocks', 'b'))
        .thenThrows('INVALID_LINK_KIND', (err) => {
          expect(err.status).to.equal(400);
          expect(err.details['allowed']).to.deep.equal(['discovered_from', 'duplicates', 'related']);
        }));

    it('refuses a missing target with TASK_NOT_FOUND (404)', () =>
      spec
        .given(tasks('a'))
        .when(link('a', 'related', 'ghost', null))
        .thenThrows('TASK_NOT_FOUND', (err) => expect(err.status).to.equal(404)));

    it('refuses a target of another project with CROSS_PROJECT_LINK (422)', () =>
      spec
        .given(tasks('a'))
        .when(link('a', 'related', 'elsewhere', 'p2'))
        .thenThrows('CROSS_PROJECT_LINK', (err) => expect(err.status).to.equal(422)));
  });

  describe('UnlinkTasks', () => {
    it('removes the link', () =>
      spec
        .given([...tasks('a', 'b'), linked('a', 'related', 'b')])
        .when(unlink('a', 'related', 'b'))
        .then([unlinked('a', 'related', 'b')]));

    it('refuses a link that does not exist with LINK_NOT_FOUND (404)', () =>
      spec
        .given([...tasks('a', 'b'), linked('a', 'related', 'b')])
        .when(unlink('a', 'duplicates', 'b'))
        .thenThrows('LINK_NOT_FOUND', (err) => expect(err.status).to.equal(404)));
  });

  describe('CreateTask with discoveredFrom', () => {
    const create = (discoveredFrom: string, discoveredFromProjectId: string | null = P): ProjectCommand => ({
      type: 'CreateTask',
      data: { projectId: P, taskId: 'found', task: { title: 'Found work' }, discoveredFrom, discoveredFromProjectId },
      metadata: metadata(),
    });

    it('creates the task and its discovered_from link in one decision', () => {
      const events = decider.decide(create('a'), fold(decider, tasks('a'))) as ProjectEvent[];
      expect(events.map((e) => e.type)).to.deep.equal(['TaskCreated', 'TaskLinked']);
      expect(events[1]).to.deep.equal(linked('found', 'discovered_from', 'a'));
    });

    it('creates nothing when the task it names does not exist', () =>
      spec.given(tasks('a')).when(create('ghost', null)).thenThrows('TASK_NOT_FOUND'));
  });

  describe('CreateTaskTree with discoveredFrom on its nodes', () => {
    const tree = (discoveredFrom: string): ProjectCommand => ({
      type: 'CreateTaskTree',
      data: {
        projectId: P,
        root: { id: 'root', title: 'Root', children: [{ id: 'leaf', title: 'Leaf', discoveredFrom }] },
        discoveredFromProjects: { [discoveredFrom]: discoveredFrom === 'a' ? P : null },
      },
      metadata: metadata(),
    });

    it('links each node that names one, after the tasks are created', () => {
      const events = decider.decide(tree('a'), fold(decider, tasks('a'))) as ProjectEvent[];
      expect(events.map((e) => e.type)).to.deep.equal(['TaskCreated', 'TaskCreated', 'TaskLinked']);
      expect(events[2]).to.deep.equal(linked('leaf', 'discovered_from', 'a'));
    });

    it('creates none of the tree when a node names no task', () => spec.given(tasks('a')).when(tree('ghost')).thenThrows('TASK_NOT_FOUND'));
  });

  describe('DeleteTask', () => {
    it('drops the links from and to the deleted task first (TaskUnlinked)', () =>
      spec
        .given([...tasks('a', 'b', 'c'), linked('a', 'related', 'b'), linked('c', 'discovered_from', 'a')])
        .when({ type: 'DeleteTask', data: { taskId: 'a', recursive: true }, metadata: metadata() })
        .then([
          unlinked('a', 'related', 'b'),
          unlinked('c', 'discovered_from', 'a'),
          { type: 'TaskDeleted', data: { taskId: 'a', projectId: P, deletedAt: T0 } },
        ]));
  });

  describe('readiness', () => {
    it('never blocks: a task linked to an open task is handed out by claim_next_task', () =>
      spec
        .given([
          ...tasks('b'),
          taskCreated('a', { priority: 'critical' }),
          linked('a', 'discovered_from', 'b'),
          linked('a', 'duplicates', 'b'),
          linked('a', 'related', 'b'),
        ])
        .when(claimNext('agent-1'))
        .then([taskClaimed('a', 'agent-1', { role: 'coder' })]));
  });
});

describe('Heartbeat notes', () => {
  const spec = deciderSpec(projectDecider());
  const heartbeat = (note?: string): ProjectCommand => ({
    type: 'Heartbeat',
    data: { taskId: 'a', agent: 'agent-1', leaseSeconds: LEASE, ...(note === undefined ? {} : { note }) },
    metadata: metadata(at(10)),
  });
  const extended = (note?: string): LeaseExtended => ({
    type: 'LeaseExtended',
    data: {
      taskId: 'a',
      projectId: P,
      agent: 'agent-1',
      leaseExpiresAt: at(10 + LEASE),
      extendedAt: at(10),
      ...(note === undefined ? {} : { note }),
    },
  });

  it('carries the note in LeaseExtended', () =>
    spec
      .given([...tasks('a'), taskClaimed('a', 'agent-1')])
      .when(heartbeat('writing the parser'))
      .then([extended('writing the parser')]));

  it('leaves the field out without a note, so the event keeps its old shape', () =>
    spec
      .given([...tasks('a'), taskClaimed('a', 'agent-1')])
      .when(heartbeat())
      .then([extended()]));
});
