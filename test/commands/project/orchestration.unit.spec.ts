import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { AssignableRole } from '../../../src/commands/roles/assignment.js';
import type { DependencyAdded, LeaseExpired, LeaseExtended, RoleAssigned, TaskCompleted, TaskReleased } from '../../../src/events/project.js';
import { by, deciderSpec } from '../../support/deciderSpec.js';
import { at, LEASE, metadata, P, projectCreated, statusChanged, T0, taskClaimed, taskCreated, tasks, type When } from './claimFixtures.js';
import type { DependencyKind, TaskStatus } from '../../../src/events/vocabulary.js';

/**
 * Orchestration in the Project decider: claims with leases, heartbeats, releases, the sweeper's
 * ExpireLease and completion checked against the role's rules. Pure given/when/then; time moves
 * only through each command's `metadata.now`.
 */

describe('Orchestration', () => {
  const spec = deciderSpec(projectDecider());

  const coder: AssignableRole = {
    name: 'coder',
    description: 'Writes code.',
    capabilities: ['code_writing', 'code_analysis', 'testing'],
    filePatterns: ['src/**', 'test/**'],
    tools: ['read_file'],
    maxConcurrentTasks: 3,
    restrictions: { maxFileChanges: 3, maxTaskDepth: 2, requireApproval: false, timeLimitMinutes: 120 },
  };
  const architect: AssignableRole = {
    name: 'architect',
    description: 'Designs.',
    capabilities: ['design', 'documentation'],
    filePatterns: ['docs/**'],
    tools: ['read_file'],
    maxConcurrentTasks: 2,
    restrictions: { maxFileChanges: 2, maxTaskDepth: 4, requireApproval: true, timeLimitMinutes: 180 },
  };

  describe('ClaimTask', () => {
    describe('when the task is ready', () => {
      it('claims it with a lease ending leaseSeconds from now', () =>
        spec
          .given(tasks('a'))
          .when(claim('a', 'agent-1', { now: at(5) }))
          .then([taskClaimed('a', 'agent-1', { at: 5 })]));

      it('records the role it was claimed for, when the role may take it', () =>
        spec
          .given(tasks('a'))
          .when(claim('a', 'agent-1', { role: 'coder', definition: coder, inProgress: 0 }))
          .then([taskClaimed('a', 'agent-1', { role: 'coder' })]));

      it('keeps the role already assigned when the claim names none', () =>
        spec
          .given([...tasks('a'), roleAssigned('a', 'coder')])
          .when(claim('a', 'agent-1'))
          .then([taskClaimed('a', 'agent-1', { role: 'coder' })]));
    });

    describe('when the same agent holds a live lease', () => {
      it('does nothing (a retried claim is harmless)', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(claim('a', 'agent-1', { now: at(LEASE - 1) }))
          .thenNothingHappened());
    });

    describe('when another agent holds a live lease', () => {
      it('refuses with ALREADY_CLAIMED (409), naming the holder and the lease end', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(claim('a', 'agent-2', { now: at(LEASE - 1) }))
          .thenThrows('ALREADY_CLAIMED', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.equal({ taskId: 'a', holder: 'agent-1', leaseExpiresAt: at(LEASE) });
          }));

      it('still refuses after a heartbeat moved the lease end', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1'), leaseExtended('a', 'agent-1', { at: LEASE - 10 })])
          .when(claim('a', 'agent-2', { now: at(LEASE + 10) }))
          .thenThrows('ALREADY_CLAIMED'));
    });

    describe('when the lease ran out and no sweeper has expired it yet', () => {
      it('expires the old lease first, then claims', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(claim('a', 'agent-2', { now: at(LEASE + 30) }))
          .then([leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE + 30 }), taskClaimed('a', 'agent-2', { at: LEASE + 30 })]));

      it('treats the very instant of expiry as expired', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(claim('a', 'agent-2', { now: at(LEASE) }))
          .then([leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE }), taskClaimed('a', 'agent-2', { at: LEASE })]));

      it('lets the old holder claim again the same way', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(claim('a', 'agent-1', { now: at(LEASE + 1) }))
          .then([leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE + 1 }), taskClaimed('a', 'agent-1', { at: LEASE + 1 })]));
    });

    describe('when the lease was released or expired', () => {
      it('claims the task returned by a release', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1'), taskReleased('a', 'agent-1')])
          .when(claim('a', 'agent-2', { now: at(20) }))
          .then([taskClaimed('a', 'agent-2', { at: 20 })]));

      it('claims the task returned by the sweeper', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1'), leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE })])
          .when(claim('a', 'agent-2', { now: at(LEASE + 5) }))
          .then([taskClaimed('a', 'agent-2', { at: LEASE + 5 })]));
    });

    describe('when dependencies are open', () => {
      it('refuses an open hard dependency with DEPENDENCIES_NOT_MET, listing it', () =>
        spec
          .given([...tasks('a', 'b'), dependencyAdded('b', 'a')])
          .when(claim('b', 'agent-1'))
          .thenThrows('DEPENDENCIES_NOT_MET', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.equal({ taskId: 'b', openDependencies: ['a'] });
          }));

      it('refuses while the hard dependency is only in review', () =>
        spec
          .given([...tasks('a', 'b'), dependencyAdded('b', 'a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1', { status: 'review' })])
          .when(claim('b', 'agent-2'))
          .thenThrows('DEPENDENCIES_NOT_MET'));

      it('claims once the hard dependency is completed', () =>
        spec
          .given([...tasks('a', 'b'), dependencyAdded('b', 'a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1')])
          .when(claim('b', 'agent-2'))
          .then([taskClaimed('b', 'agent-2')]));

      it('is not blocked by an open soft dependency', () =>
        spec
          .given([...tasks('a', 'b'), dependencyAdded('b', 'a', 'soft')])
          .when(claim('b', 'agent-1'))
          .then([taskClaimed('b', 'agent-1')]));
    });

    describe('when the task is not pending', () => {
      for (const status of ['completed', 'cancelled', 'blocked', 'review'] as const) {
        it(`refuses a ${status} task with TASK_NOT_CLAIMABLE`, () =>
          spec
            .given([...tasks('a'), statusChanged('a', 'pending', status)])
            .when(claim('a', 'agent-1'))
            .thenThrows('TASK_NOT_CLAIMABLE', (err) => {
              expect(err.status).to.equal(409);
              expect(err.details).to.deep.equal({ taskId: 'a', status });
            }));
      }

      it('refuses a task completed through CompleteTask with TASK_NOT_CLAIMABLE', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1')])
          .when(claim('a', 'agent-2'))
          .thenThrows('TASK_NOT_CLAIMABLE'));

      it('refuses a task set in_progress by hand (no lease) with TASK_NOT_CLAIMABLE', () =>
        spec
          .given([...tasks('a'), statusChanged('a', 'pending', 'in_progress')])
          .when(claim('a', 'agent-1'))
          .thenThrows('TASK_NOT_CLAIMABLE'));
    });

    describe('when a role is named', () => {
      it('refuses a task assigned to another role with ROLE_MISMATCH', () =>
        spec
          .given([...tasks('a'), roleAssigned('a', 'architect')])
          .when(claim('a', 'agent-1', { role: 'coder', definition: coder, inProgress: 0 }))
          .thenThrows('ROLE_MISMATCH', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.equal({ taskId: 'a', role: 'architect' });
          }));

      it('refuses a task the role lacks capabilities for with ROLE_VALIDATION_ERROR', () =>
        spec
          .given([projectCreated(), taskCreated('a', { requiredCapabilities: ['deployment'] })])
          .when(claim('a', 'agent-1', { role: 'coder', definition: coder, inProgress: 0 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            expect(err.status).to.equal(422);
            expect(reasonCodes(err.details)).to.deep.equal(['MISSING_CAPABILITIES']);
          }));

      it('refuses a task whose files lie outside the role patterns with ROLE_VALIDATION_ERROR', () =>
        spec
          .given([projectCreated(), taskCreated('a', { files: ['src/a.ts', 'docs/b.md'] })])
          .when(claim('a', 'agent-1', { role: 'coder', definition: coder, inProgress: 0 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            expect(reasonCodes(err.details)).to.deep.equal(['FILES_OUTSIDE_PATTERNS']);
            expect((err.details['reasons'] as Array<{ files?: string[] }>)[0]!.files).to.deep.equal(['docs/b.md']);
          }));

      it('refuses when the role is at its workload limit with ROLE_VALIDATION_ERROR', () =>
        spec
          .given(tasks('a'))
          .when(claim('a', 'agent-1', { role: 'coder', definition: coder, inProgress: 3 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => expect(reasonCodes(err.details)).to.deep.equal(['WORKLOAD_LIMIT'])));

      it('refuses an unknown role (no definition) with ROLE_VALIDATION_ERROR / UNKNOWN_ROLE', () =>
        spec
          .given(tasks('a'))
          .when(claim('a', 'agent-1', { role: 'ghost', definition: null, inProgress: 0 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => expect(reasonCodes(err.details)).to.deep.equal(['UNKNOWN_ROLE'])));
    });

    describe('when the task or project does not exist', () => {
      it('refuses an unknown task with TASK_NOT_FOUND (404)', () =>
        spec
          .given(tasks('a'))
          .when(claim('ghost', 'agent-1'))
          .thenThrows('TASK_NOT_FOUND', (err) => expect(err.status).to.equal(404)));

      it('refuses in an empty stream with PROJECT_NOT_FOUND', () => spec.given([]).when(claim('a', 'agent-1')).thenThrows('PROJECT_NOT_FOUND'));
    });
  });

  describe('ClaimNextTask', () => {
    describe('when ranking the ready tasks', () => {
      it('takes the highest priority first, whatever its slack and age', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('old-low', { priority: 'low', estimate: 10, createdAt: at(0) }),
            taskCreated('young-high', { priority: 'high', estimate: 1, createdAt: at(100) }),
            taskCreated('tail', { estimate: 50 }),
            dependencyAdded('tail', 'old-low'),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('young-high', 'agent-1', { role: 'coder' })]));

      it('among equal priorities, takes the task with the least slack (CPM over hard dependencies)', () =>
        // a (1 h) stands alone; b (2 h) leads to c (10 h): the project takes 12 h, a has 11 h slack, b none.
        spec
          .given([
            projectCreated(),
            taskCreated('a', { estimate: 1, createdAt: at(0) }),
            taskCreated('b', { estimate: 2, createdAt: at(10) }),
            taskCreated('c', { estimate: 10, createdAt: at(20) }),
            dependencyAdded('c', 'b'),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('b', 'agent-1', { role: 'coder' })]));

      it('ignores soft edges when computing slack', () =>
        // Same tasks, but c waits on b only softly: c (10 h) alone is the critical path, and it is ready.
        spec
          .given([
            projectCreated(),
            taskCreated('a', { estimate: 1, createdAt: at(0) }),
            taskCreated('b', { estimate: 2, createdAt: at(10) }),
            taskCreated('c', { estimate: 10, createdAt: at(20) }),
            dependencyAdded('c', 'b', 'soft'),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('c', 'agent-1', { role: 'coder' })]));

      it('among equal priority and slack, takes the oldest', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('newer', { estimate: 3, createdAt: at(50) }),
            taskCreated('older', { estimate: 3, createdAt: at(10) }),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('older', 'agent-1', { role: 'coder' })]));

      it('skips tasks with open hard dependencies and tasks under a live lease', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('held', { priority: 'critical' }),
            taskCreated('waiting', { priority: 'critical' }),
            taskCreated('free', { priority: 'low' }),
            dependencyAdded('waiting', 'held'),
            taskClaimed('held', 'agent-9'),
          ])
          .when(claimNext('agent-1', { now: at(10) }))
          .then([taskClaimed('free', 'agent-1', { role: 'coder', at: 10 })]));

      it('takes a task whose lease ran out, expiring it first', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('stale', { priority: 'critical' }),
            taskCreated('free', { priority: 'low' }),
            taskClaimed('stale', 'agent-9'),
          ])
          .when(claimNext('agent-1', { now: at(LEASE + 1) }))
          .then([
            leaseExpired('stale', 'agent-9', { leaseEnd: LEASE, at: LEASE + 1 }),
            taskClaimed('stale', 'agent-1', { role: 'coder', at: LEASE + 1 }),
          ]));
    });

    describe('when some tasks do not fit the role', () => {
      it('skips tasks assigned to another role and takes one assigned to its own', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('theirs', { priority: 'critical' }),
            taskCreated('mine', { priority: 'low' }),
            roleAssigned('theirs', 'architect'),
            roleAssigned('mine', 'coder'),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('mine', 'agent-1', { role: 'coder' })]));

      it('skips unassigned tasks the role lacks capabilities for, or whose files it may not touch, or that sit too deep', () =>
        spec
          .given([
            projectCreated(),
            taskCreated('deploy', { priority: 'critical', requiredCapabilities: ['deployment'] }),
            taskCreated('docs', { priority: 'critical', files: ['docs/guide.md'] }),
            taskCreated('r', { priority: 'low' }),
            taskCreated('r1', { priority: 'low', parentId: 'r' }),
            taskCreated('r2', { priority: 'low', parentId: 'r1' }),
            taskCreated('deep', { priority: 'critical', parentId: 'r2' }),
            taskCreated('code', { priority: 'high', files: ['src/x.ts'], requiredCapabilities: ['testing'] }),
          ])
          .when(claimNext('agent-1'))
          .then([taskClaimed('code', 'agent-1', { role: 'coder' })]));
    });

    describe('when the role cannot claim at all', () => {
      it('refuses an unknown role with ROLE_NOT_FOUND (404)', () =>
        spec
          .given(tasks('a'))
          .when(claimNext('agent-1', { role: 'ghost', definition: null }))
          .thenThrows('ROLE_NOT_FOUND', (err) => {
            expect(err.status).to.equal(404);
            expect(err.details).to.deep.equal({ role: 'ghost' });
          }));

      it('refuses a retired role with ROLE_RETIRED (409)', () =>
        spec
          .given(tasks('a'))
          .when(claimNext('agent-1', { definition: { ...coder, retired: true } }))
          .thenThrows('ROLE_RETIRED', (err) => expect(err.status).to.equal(409)));

      it('refuses a role at its workload limit with ROLE_VALIDATION_ERROR (422) / WORKLOAD_LIMIT', () =>
        spec
          .given(tasks('a'))
          .when(claimNext('agent-1', { inProgress: 3 }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            expect(err.status).to.equal(422);
            expect(reasonCodes(err.details)).to.deep.equal(['WORKLOAD_LIMIT']);
          }));

      it('still claims one below the limit', () =>
        spec
          .given(tasks('a'))
          .when(claimNext('agent-1', { inProgress: 2 }))
          .then([taskClaimed('a', 'agent-1', { role: 'coder' })]));
    });

    describe('when nothing is ready', () => {
      it('answers NO_READY_TASK (404) when every task is claimed, blocked or done', () =>
        spec
          .given([
            ...tasks('held', 'done', 'waiting', 'parked'),
            taskClaimed('held', 'agent-9'),
            taskClaimed('done', 'agent-9'),
            taskCompleted('done', 'agent-9'),
            dependencyAdded('waiting', 'held'),
            statusChanged('parked', 'pending', 'blocked'),
          ])
          .when(claimNext('agent-1', { now: at(10) }))
          .thenThrows('NO_READY_TASK', (err) => {
            expect(err.status).to.equal(404);
            expect(err.details).to.deep.equal({ role: 'coder' });
          }));

      it('answers NO_READY_TASK when the only ready tasks are for other roles', () =>
        spec
          .given([...tasks('a'), roleAssigned('a', 'architect')])
          .when(claimNext('agent-1'))
          .thenThrows('NO_READY_TASK'));

      it('refuses in an empty stream with PROJECT_NOT_FOUND', () => spec.given([]).when(claimNext('agent-1')).thenThrows('PROJECT_NOT_FOUND'));
    });
  });

  describe('Heartbeat', () => {
    it('extends the lease of the holder to now + leaseSeconds', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(heartbeat('a', 'agent-1', { now: at(300), leaseSeconds: 900 }))
        .then([leaseExtended('a', 'agent-1', { at: 300, seconds: 900 })]));

    it('may shorten the lease too (the end is always now + leaseSeconds)', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(heartbeat('a', 'agent-1', { now: at(100), leaseSeconds: 10 }))
        .then([leaseExtended('a', 'agent-1', { at: 100, seconds: 10 })]));

    it('refuses an agent that does not hold the lease with LEASE_NOT_HELD (409)', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(heartbeat('a', 'agent-2', { now: at(10) }))
        .thenThrows('LEASE_NOT_HELD', (err) => {
          expect(err.status).to.equal(409);
          expect(err.details).to.deep.equal({ taskId: 'a', holder: 'agent-1', holderActor: 'test' });
        }));

    it('refuses a late heartbeat after the lease ran out with LEASE_EXPIRED (409)', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(heartbeat('a', 'agent-1', { now: at(LEASE + 1) }))
        .thenThrows('LEASE_EXPIRED', (err) => expect(err.status).to.equal(409)));

    it('refuses a heartbeat after the sweeper expired the lease with NOT_CLAIMED (409)', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1'), leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE })])
        .when(heartbeat('a', 'agent-1', { now: at(LEASE + 1) }))
        .thenThrows('NOT_CLAIMED', (err) => expect(err.status).to.equal(409)));

    it('refuses the old holder once another agent claimed the task with LEASE_NOT_HELD', () =>
      spec
        .given([
          ...tasks('a'),
          taskClaimed('a', 'agent-1'),
          leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE }),
          taskClaimed('a', 'agent-2', { at: LEASE + 1 }),
        ])
        .when(heartbeat('a', 'agent-1', { now: at(LEASE + 2) }))
        .thenThrows('LEASE_NOT_HELD'));

    it('refuses an unclaimed task with NOT_CLAIMED', () => spec.given(tasks('a')).when(heartbeat('a', 'agent-1')).thenThrows('NOT_CLAIMED'));

    it('refuses an unknown task with TASK_NOT_FOUND', () => spec.given(tasks('a')).when(heartbeat('ghost', 'agent-1')).thenThrows('TASK_NOT_FOUND'));
  });

  describe('ReleaseTask', () => {
    it('gives the task back, with the reason', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(release('a', 'agent-1', { now: at(20), reason: 'stuck' }))
        .then([taskReleased('a', 'agent-1', { at: 20, reason: 'stuck' })]));

    it('defaults the reason to "released"', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(release('a', 'agent-1', { now: at(20) }))
        .then([taskReleased('a', 'agent-1', { at: 20 })]));

    it('refuses an agent that does not hold the lease with LEASE_NOT_HELD', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(release('a', 'agent-2', { now: at(20) }))
        .thenThrows('LEASE_NOT_HELD'));

    it('refuses after the lease ran out with LEASE_EXPIRED', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(release('a', 'agent-1', { now: at(LEASE + 1) }))
        .thenThrows('LEASE_EXPIRED'));

    it('refuses an unclaimed task with NOT_CLAIMED', () => spec.given(tasks('a')).when(release('a', 'agent-1')).thenThrows('NOT_CLAIMED'));
  });

  describe('a lease belongs to the plugin that claimed it', () => {
    const claimedByA = () => [...tasks('a'), by('plugin-a', taskClaimed('a', 'agent1'))];

    it('refuses a heartbeat from another plugin that sends the same agent name with LEASE_NOT_HELD', () =>
      spec
        .given(claimedByA())
        .when(heartbeat('a', 'agent1', { now: at(10), as: 'plugin-b' }))
        .thenThrows('LEASE_NOT_HELD', (err) => {
          expect(err.status).to.equal(409);
          expect(err.details).to.include({ holder: 'agent1', holderActor: 'plugin-a' });
        }));

    it('refuses a release from another plugin with LEASE_NOT_HELD', () =>
      spec
        .given(claimedByA())
        .when(release('a', 'agent1', { now: at(10), as: 'plugin-b' }))
        .thenThrows('LEASE_NOT_HELD'));

    it('refuses a completion from another plugin with LEASE_NOT_HELD', () =>
      spec
        .given(claimedByA())
        .when(complete('a', 'agent1', { now: at(10), as: 'plugin-b' }))
        .thenThrows('LEASE_NOT_HELD'));

    it('refuses a claim from another plugin with the same agent name with ALREADY_CLAIMED', () =>
      spec
        .given(claimedByA())
        .when(claim('a', 'agent1', { now: at(10), as: 'plugin-b' }))
        .thenThrows('ALREADY_CLAIMED'));

    it('lets the holder plugin heartbeat and complete', () => {
      spec
        .given(claimedByA())
        .when(heartbeat('a', 'agent1', { now: at(10), as: 'plugin-a' }))
        .then([leaseExtended('a', 'agent1', { at: 10 })]);
      spec
        .given(claimedByA())
        .when(complete('a', 'agent1', { now: at(10), as: 'plugin-a' }))
        .then([taskCompleted('a', 'agent1', { at: 10 })]);
    });

    it('keeps the holder through a heartbeat', () =>
      spec
        .given([...claimedByA(), by('plugin-a', leaseExtended('a', 'agent1', { at: 10 }))])
        .when(complete('a', 'agent1', { now: at(20), as: 'plugin-b' }))
        .thenThrows('LEASE_NOT_HELD'));

    it('refuses a status change from another plugin while the lease lasts with LEASE_NOT_HELD', () => {
      for (const status of ['pending', 'blocked', 'cancelled'] as const) {
        spec
          .given(claimedByA())
          .when(changeStatus('a', status, { now: at(10), as: 'plugin-b' }))
          .thenThrows('LEASE_NOT_HELD', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.include({ holderActor: 'plugin-a', leaseExpiresAt: at(LEASE) });
          });
      }
    });

    it('lets the holder plugin change the status, which ends its claim', () =>
      spec
        .given(claimedByA())
        .when(changeStatus('a', 'blocked', { now: at(10), as: 'plugin-a' }))
        .then([{ type: 'TaskStatusChanged', data: { taskId: 'a', projectId: P, from: 'in_progress', to: 'blocked', changedAt: at(10) } }]));

    it('lets another plugin change the status once the lease has run out', () =>
      spec
        .given(claimedByA())
        .when(changeStatus('a', 'pending', { now: at(LEASE + 1), as: 'plugin-b' }))
        .then([{ type: 'TaskStatusChanged', data: { taskId: 'a', projectId: P, from: 'in_progress', to: 'pending', changedAt: at(LEASE + 1) } }]));

    it('lets a forced release break the lease and records who broke it', () =>
      spec
        .given(claimedByA())
        .when(release('a', 'anything', { now: at(30), as: 'admin-plugin', force: true }))
        .then([taskReleased('a', 'agent1', { at: 30, reason: 'lease broken by an administrator', forcedBy: 'admin-plugin' })]));

    it('refuses a forced release of an unclaimed task with NOT_CLAIMED', () =>
      spec
        .given(tasks('a'))
        .when(release('a', 'x', { as: 'admin-plugin', force: true }))
        .thenThrows('NOT_CLAIMED'));
  });

  describe('ExpireLease (the sweeper)', () => {
    it('does nothing before the lease ends', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(expire('a', { now: at(LEASE - 1) }))
        .thenNothingHappened());

    it('does nothing when a heartbeat moved the end past now', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1'), leaseExtended('a', 'agent-1', { at: LEASE - 1 })])
        .when(expire('a', { now: at(LEASE + 1) }))
        .thenNothingHappened());

    it('expires the lease once it ended', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1')])
        .when(expire('a', { now: at(LEASE + 1) }))
        .then([leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE + 1 })]));

    it('does nothing the second time (idempotent)', () =>
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1'), leaseExpired('a', 'agent-1', { leaseEnd: LEASE, at: LEASE + 1 })])
        .when(expire('a', { now: at(LEASE + 2) }))
        .thenNothingHappened());

    it('does nothing for a released, completed, unknown task or an empty stream', () => {
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1'), taskReleased('a', 'agent-1')])
        .when(expire('a', { now: at(LEASE + 1) }))
        .thenNothingHappened();
      spec
        .given([...tasks('a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1')])
        .when(expire('a', { now: at(LEASE + 1) }))
        .thenNothingHappened();
      spec
        .given(tasks('a'))
        .when(expire('ghost', { now: at(LEASE + 1) }))
        .thenNothingHappened();
      spec
        .given([])
        .when(expire('a', { now: at(LEASE + 1) }))
        .thenNothingHappened();
    });
  });

  describe('CompleteTask', () => {
    describe('when the holder completes', () => {
      it('records the result as completed', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(complete('a', 'agent-1', { now: at(60), output: 'done', artifacts: ['dist/a.js'], changedFiles: ['anything/at/all.txt'] }))
          .then([taskCompleted('a', 'agent-1', { at: 60, output: 'done', artifacts: ['dist/a.js'], changedFiles: ['anything/at/all.txt'] })]));

      it('accepts changed files inside the role patterns', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1', { role: 'coder' })])
          .when(complete('a', 'agent-1', { changedFiles: ['src/a.ts', './test/a.spec.ts'], definition: coder }))
          .then([taskCompleted('a', 'agent-1', { changedFiles: ['src/a.ts', './test/a.spec.ts'] })]));
    });

    describe('when someone else completes', () => {
      it('refuses the wrong agent with LEASE_NOT_HELD', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(complete('a', 'agent-2'))
          .thenThrows('LEASE_NOT_HELD', (err) => expect(err.status).to.equal(409)));

      it('refuses an unclaimed task with NOT_CLAIMED', () => spec.given(tasks('a')).when(complete('a', 'agent-1')).thenThrows('NOT_CLAIMED'));

      it('refuses after the lease ran out with LEASE_EXPIRED', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(complete('a', 'agent-1', { now: at(LEASE + 1) }))
          .thenThrows('LEASE_EXPIRED'));

      it('refuses a second completion with NOT_CLAIMED', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1')])
          .when(complete('a', 'agent-1'))
          .thenThrows('NOT_CLAIMED'));
    });

    describe('when the changes break the role rules', () => {
      it('refuses files outside the patterns with ROLE_VALIDATION_ERROR listing them (role without approval)', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1', { role: 'coder' })])
          .when(complete('a', 'agent-1', { changedFiles: ['src/a.ts', 'docs/guide.md', '../outside.ts'], definition: coder }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            expect(err.status).to.equal(422);
            const reasons = err.details['reasons'] as Array<{ code: string; files?: string[] }>;
            expect(reasons.map((r) => r.code)).to.deep.equal(['FILES_OUTSIDE_PATTERNS']);
            expect(reasons[0]!.files).to.deep.equal(['docs/guide.md', '../outside.ts']);
            expect(err.message).to.contain('docs/guide.md');
          }));

      it('refuses more changed files than the role allows with ROLE_VALIDATION_ERROR', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1', { role: 'coder' })])
          .when(complete('a', 'agent-1', { changedFiles: ['src/1.ts', 'src/2.ts', 'src/3.ts', 'src/4.ts'], definition: coder }))
          .thenThrows('ROLE_VALIDATION_ERROR', (err) => {
            const reasons = err.details['reasons'] as Array<{ code: string; limit?: number }>;
            expect(reasons).to.have.length(1);
            expect(reasons[0]).to.include({ code: 'TOO_MANY_FILE_CHANGES', limit: 3 });
          }));

      it('accepts exactly the limit', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1', { role: 'coder' })])
          .when(complete('a', 'agent-1', { changedFiles: ['src/1.ts', 'src/2.ts', 'src/3.ts'], definition: coder }))
          .then([taskCompleted('a', 'agent-1', { changedFiles: ['src/1.ts', 'src/2.ts', 'src/3.ts'] })]));

      it('accepts with warnings and status review when the role requires approval', () => {
        const changedFiles = ['docs/adr.md', 'src/hack.ts', 'src/more.ts'];
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1', { role: 'architect' })])
          .when(complete('a', 'agent-1', { changedFiles, definition: architect }))
          .then([
            taskCompleted('a', 'agent-1', {
              status: 'review',
              changedFiles,
              warnings: ["Changed files outside role architect's patterns: src/hack.ts, src/more.ts", '3 files changed; role architect allows 2'],
            }),
          ]);
      });

      it('does not check files when the task has no role', () =>
        spec
          .given([...tasks('a'), taskClaimed('a', 'agent-1')])
          .when(complete('a', 'agent-1', { changedFiles: ['docs/x.md'], definition: coder }))
          .then([taskCompleted('a', 'agent-1', { changedFiles: ['docs/x.md'] })]));
    });
  });

  describe('the state after orchestration events', () => {
    it('a completed dependency makes its dependent claimable by ClaimNextTask', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('b', 'a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1')])
        .when(claimNext('agent-2'))
        .then([taskClaimed('b', 'agent-2', { role: 'coder' })]));

    it('a task in review does not unblock its dependents', () =>
      spec
        .given([...tasks('a', 'b'), dependencyAdded('b', 'a'), taskClaimed('a', 'agent-1'), taskCompleted('a', 'agent-1', { status: 'review' })])
        .when(claimNext('agent-2'))
        .thenThrows('NO_READY_TASK'));
  });

  // ─── Fixtures ──────────────────────────────────────────────────────────────────────────────────

  function claim(
    taskId: string,
    agent: string,
    opts: When & { leaseSeconds?: number; role?: string; definition?: AssignableRole | null; inProgress?: number } = {},
  ): ProjectCommand {
    const { now, as, leaseSeconds = LEASE, ...role } = opts;
    return { type: 'ClaimTask', data: { taskId, agent, leaseSeconds, ...role }, metadata: metadata(now, as) };
  }

  function claimNext(agent: string, opts: When & { role?: string; definition?: AssignableRole | null; inProgress?: number } = {}): ProjectCommand {
    const { now, role = 'coder', definition = coder, inProgress = 0 } = opts;
    return { type: 'ClaimNextTask', data: { agent, leaseSeconds: LEASE, role, definition, inProgress }, metadata: metadata(now) };
  }

  function heartbeat(taskId: string, agent: string, opts: When & { leaseSeconds?: number } = {}): ProjectCommand {
    return { type: 'Heartbeat', data: { taskId, agent, leaseSeconds: opts.leaseSeconds ?? LEASE }, metadata: metadata(opts.now, opts.as) };
  }

  function release(taskId: string, agent: string, opts: When & { reason?: string; force?: boolean } = {}): ProjectCommand {
    const extra = { ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.force ? { force: true } : {}) };
    return { type: 'ReleaseTask', data: { taskId, agent, ...extra }, metadata: metadata(opts.now, opts.as) };
  }

  function changeStatus(taskId: string, status: TaskStatus, opts: When = {}): ProjectCommand {
    return { type: 'ChangeTaskStatus', data: { taskId, status }, metadata: metadata(opts.now, opts.as) };
  }

  function expire(taskId: string, opts: When = {}): ProjectCommand {
    return { type: 'ExpireLease', data: { taskId }, metadata: metadata(opts.now) };
  }

  function complete(
    taskId: string,
    agent: string,
    opts: When & { output?: string; artifacts?: string[]; changedFiles?: string[]; definition?: AssignableRole | null } = {},
  ): ProjectCommand {
    const { now, as, output = '', artifacts = [], changedFiles = [], definition } = opts;
    return {
      type: 'CompleteTask',
      data: { taskId, agent, output, artifacts, changedFiles, ...(definition === undefined ? {} : { definition }) },
      metadata: metadata(now, as),
    };
  }

  function reasonCodes(details: Record<string, unknown>): string[] {
    return (details['reasons'] as Array<{ code: string }>).map((r) => r.code);
  }

  function dependencyAdded(taskId: string, dependsOn: string, kind: DependencyKind = 'hard'): DependencyAdded {
    return { type: 'DependencyAdded', data: { taskId, projectId: P, dependsOn, kind, addedAt: T0 } };
  }

  function roleAssigned(taskId: string, role: string): RoleAssigned {
    return { type: 'RoleAssigned', data: { taskId, projectId: P, role, previousRole: null, assignedAt: T0 } };
  }

  function leaseExtended(taskId: string, agent: string, opts: { at?: number; seconds?: number } = {}): LeaseExtended {
    const { at: when = 0, seconds = LEASE } = opts;
    return { type: 'LeaseExtended', data: { taskId, projectId: P, agent, leaseExpiresAt: at(when + seconds), extendedAt: at(when) } };
  }

  function taskReleased(taskId: string, agent: string, opts: { at?: number; reason?: string; forcedBy?: string } = {}): TaskReleased {
    return {
      type: 'TaskReleased',
      data: {
        taskId,
        projectId: P,
        agent,
        reason: opts.reason ?? 'released',
        releasedAt: at(opts.at ?? 0),
        forced: opts.forcedBy !== undefined,
        forcedBy: opts.forcedBy ?? null,
      },
    };
  }

  function leaseExpired(taskId: string, agent: string, opts: { leaseEnd: number; at: number }): LeaseExpired {
    return { type: 'LeaseExpired', data: { taskId, projectId: P, agent, leaseExpiresAt: at(opts.leaseEnd), expiredAt: at(opts.at) } };
  }

  function taskCompleted(
    taskId: string,
    agent: string,
    opts: { at?: number; status?: 'completed' | 'review'; output?: string; artifacts?: string[]; changedFiles?: string[]; warnings?: string[] } = {},
  ): TaskCompleted {
    return {
      type: 'TaskCompleted',
      data: {
        taskId,
        projectId: P,
        agent,
        status: opts.status ?? 'completed',
        output: opts.output ?? '',
        artifacts: opts.artifacts ?? [],
        changedFiles: opts.changedFiles ?? [],
        warnings: opts.warnings ?? [],
        completedAt: at(opts.at ?? 0),
      },
    };
  }
});
