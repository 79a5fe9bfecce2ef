import { expect } from 'chai';
import { projectDecider } from '../../../src/commands/project/decider.js';
import { deciderSpec } from '../../support/deciderSpec.js';
import { changeStatus, claimNext, complete, projectCreated, statusChanged, taskClaimed, taskCompleted, taskCreated } from './claimFixtures.js';

/** A parent is finished by its children: it is not handed out while one is open, and cannot be completed before them. */
describe('Parent rules', () => {
  const spec = deciderSpec(projectDecider());
  const family = [
    projectCreated(),
    taskCreated('parent', { priority: 'critical' }),
    taskCreated('child-1', { parentId: 'parent' }),
    taskCreated('child-2', { parentId: 'parent' }),
  ];

  describe('ClaimNextTask', () => {
    describe('when a parent has open children', () => {
      it('hands out a child, not the parent, however high its priority', () =>
        spec
          .given(family)
          .when(claimNext('agent-1'))
          .then([taskClaimed('child-1', 'agent-1', { role: 'coder' })]));

      it('answers NO_READY_TASK when only the parent is left and a child is still in progress', () =>
        spec
          .given([...family, taskClaimed('child-1', 'agent-9'), taskClaimed('child-2', 'agent-9'), taskCompleted('child-2', 'agent-9')])
          .when(claimNext('agent-1', { now: '2026-01-01T00:00:10.000Z' }))
          .thenThrows('NO_READY_TASK'));
    });

    describe('when every child is completed or cancelled', () => {
      it('hands out the parent', () =>
        spec
          .given([
            ...family,
            taskClaimed('child-1', 'agent-9'),
            taskCompleted('child-1', 'agent-9'),
            statusChanged('child-2', 'pending', 'cancelled'),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('parent', 'agent-1', { role: 'coder' })]));
    });
  });

  describe('CompleteTask', () => {
    describe('when the parent still has open children', () => {
      it('refuses with CHILDREN_OPEN (409), naming them', () =>
        spec
          .given([...family, taskClaimed('parent', 'agent-1')])
          .when(complete('parent', 'agent-1'))
          .thenThrows('CHILDREN_OPEN', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.equal({ taskId: 'parent', openChildren: ['child-1', 'child-2'], count: 2 });
            expect(err.message).to.include('child-1').and.include('child-2');
            expect(err.hint).to.be.a('string');
          }));

      it('counts a child in review as open', () =>
        spec
          .given([
            ...family,
            taskClaimed('child-1', 'agent-9'),
            taskCompleted('child-1', 'agent-9'),
            statusChanged('child-2', 'pending', 'in_progress'),
            statusChanged('child-2', 'in_progress', 'review'),
            taskClaimed('parent', 'agent-1'),
          ])
          .when(complete('parent', 'agent-1'))
          .thenThrows('CHILDREN_OPEN', (err) => expect(err.details['openChildren']).to.deep.equal(['child-2'])));
    });

    describe('when every child is closed', () => {
      it('completes the parent', () =>
        spec
          .given([
            ...family,
            statusChanged('child-1', 'pending', 'cancelled'),
            statusChanged('child-2', 'pending', 'cancelled'),
            taskClaimed('parent', 'agent-1'),
          ])
          .when(complete('parent', 'agent-1'))
          .then([taskCompleted('parent', 'agent-1')]));
    });
  });

  describe('ChangeTaskStatus to completed', () => {
    it('refuses with CHILDREN_OPEN while a child is open', () =>
      spec
        .given([...family, statusChanged('parent', 'pending', 'in_progress')])
        .when(changeStatus('parent', 'completed'))
        .thenThrows('CHILDREN_OPEN', (err) => expect(err.details['count']).to.equal(2)));

    it('still lets an open parent move to any other status', () =>
      spec
        .given(family)
        .when(changeStatus('parent', 'blocked'))
        .then([
          {
            type: 'TaskStatusChanged',
            data: { taskId: 'parent', projectId: 'p1', from: 'pending', to: 'blocked', changedAt: '2026-01-01T00:00:00.000Z' },
          },
        ]));
  });
});
