import { expect } from 'chai';
import { projectDecider } from '../../../src/commands/project/decider.js';
import { by, deciderSpec } from '../../support/deciderSpec.js';
import { at, claim, claimNext, coder, LEASE, taskClaimed, tasks } from './claimFixtures.js';

/** `maxConcurrentTasksPerAgent` caps one agent; a null `maxConcurrentTasks` leaves the role as a whole uncapped. */
describe('Per-agent workload limits', () => {
  const spec = deciderSpec(projectDecider());
  const reasons = (details: Record<string, unknown>) => details['reasons'] as Array<Record<string, unknown>>;

  describe('ClaimNextTask', () => {
    describe('when the agent already holds its per-agent limit', () => {
      it('refuses with ROLE_VALIDATION_ERROR (422) / AGENT_WORKLOAD_LIMIT, naming the tasks it holds', () =>
        spec
          .given([...tasks('a', 'b', 'c'), taskClaimed('a', 'agent-1', { role: 'coder' }), taskClaimed('b', 'agent-1', { role: 'coder' })])
          .when(claimNext('agent-1', { now: at(5), inProgress: 2 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            expect(err.status).to.equal(422);
            expect(reasons(err.details)).to.deep.equal([
              {
                code: 'AGENT_WORKLOAD_LIMIT',
                message: 'The agent is at its per-agent concurrency limit.',
                inProgress: 2,
                limit: 2,
                held: ['a', 'b'],
              },
            ]);
            expect(err.details['agent']).to.equal('agent-1');
          }));

      it('counts the tasks the read model reports for the agent in other projects', () =>
        spec
          .given([...tasks('a', 'b'), taskClaimed('a', 'agent-1', { role: 'coder' })])
          .when(claimNext('agent-1', { now: at(5), agentElsewhere: 1 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => expect(reasons(err.details)[0]).to.include({ inProgress: 2, limit: 2 })));
    });

    describe('when other agents of the role hold many tasks', () => {
      it('still hands this agent one: the role-wide cap is null', () =>
        spec
          .given([
            ...tasks('a', 'b', 'c', 'd', 'e'),
            taskClaimed('a', 'agent-1', { role: 'coder' }),
            taskClaimed('b', 'agent-1', { role: 'coder' }),
            taskClaimed('c', 'agent-2', { role: 'coder' }),
            taskClaimed('d', 'agent-2', { role: 'coder' }),
          ])
          .when(claimNext('agent-3', { now: at(5), inProgress: 4 }))
          .then([taskClaimed('e', 'agent-3', { role: 'coder', at: 5 })]));

      it('does not count the same label used by another plugin', () =>
        spec
          .given([
            ...tasks('a', 'b', 'c'),
            by('other-plugin', taskClaimed('a', 'agent-1', { role: 'coder' })),
            by('other-plugin', taskClaimed('b', 'agent-1', { role: 'coder' })),
          ])
          .when(claimNext('agent-1', { now: at(5) }))
          .then([taskClaimed('c', 'agent-1', { role: 'coder', at: 5 })]));
    });

    describe('when one of its leases ran out', () => {
      it('no longer counts the lapsed lease', () =>
        spec
          .given([...tasks('a', 'b'), taskClaimed('a', 'agent-1', { role: 'coder' }), taskClaimed('b', 'agent-1', { role: 'coder', at: 100 })])
          .when(claimNext('agent-1', { now: at(LEASE + 1) }))
          .then([
            { type: 'LeaseExpired', data: { taskId: 'a', projectId: 'p1', agent: 'agent-1', leaseExpiresAt: at(LEASE), expiredAt: at(LEASE + 1) } },
            taskClaimed('a', 'agent-1', { role: 'coder', at: LEASE + 1 }),
          ]));
    });

    describe('when the role has a role-wide cap too', () => {
      it('refuses at the role-wide cap with WORKLOAD_LIMIT, whatever the agent holds', () =>
        spec
          .given(tasks('a'))
          .when(claimNext('agent-1', { definition: { ...coder, maxConcurrentTasks: 3 }, inProgress: 3 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => expect(reasons(err.details).map((r) => r.code)).to.deep.equal(['WORKLOAD_LIMIT'])));
    });
  });

  describe('ClaimTask with a role', () => {
    it('refuses a third task for an agent limited to two', () =>
      spec
        .given([...tasks('a', 'b', 'c'), taskClaimed('a', 'agent-1', { role: 'coder' }), taskClaimed('b', 'agent-1', { role: 'coder' })])
        .when(claim('c', 'agent-1', { now: at(5), role: 'coder', definition: coder, inProgress: 2 }))
        .thenThrows('ROLE_VALIDATION_ERROR', (err) => expect(reasons(err.details)[0]).to.include({ code: 'AGENT_WORKLOAD_LIMIT' })));

    it('claims without a per-agent cap (null)', () =>
      spec
        .given([...tasks('a', 'b', 'c'), taskClaimed('a', 'agent-1', { role: 'coder' }), taskClaimed('b', 'agent-1', { role: 'coder' })])
        .when(claim('c', 'agent-1', { now: at(5), role: 'coder', definition: { ...coder, maxConcurrentTasksPerAgent: null }, inProgress: 2 }))
        .then([taskClaimed('c', 'agent-1', { role: 'coder', at: 5 })]));
  });
});
