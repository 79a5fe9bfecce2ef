import { expect } from 'chai';
import { projectDecider, type ProjectCommand } from '../../../src/commands/project/decider.js';
import type { FilesMarked, ProjectEvent } from '../../../src/events/project.js';
import { by, deciderSpec } from '../../support/deciderSpec.js';
import { at, claim, claimNext, LEASE, metadata, P, projectCreated, taskClaimed, taskCompleted, taskCreated, type When } from './claimFixtures.js';

/** An active claim reserves its task's files; advisory marks reserve the files they name (src/commands/project/files.ts). */
describe('File-aware claims', () => {
  const spec = deciderSpec(projectDecider());
  const project: ProjectEvent[] = [
    projectCreated(),
    taskCreated('api', { files: ['src/api/**'], priority: 'critical' }),
    taskCreated('routes', { files: ['src/api/routes.ts'], priority: 'high' }),
    taskCreated('docs', { files: ['docs/guide.md'] }),
  ];
  const heldApi = { taskId: 'routes', files: ['src/api/routes.ts'], holder: 'agent-1', holderTaskId: 'api', leaseExpiresAt: at(LEASE) };

  describe('ClaimNextTask', () => {
    describe('when the best task touches files under another agent’s claim', () => {
      it('skips it, claims the next free one and records what it skipped and who holds it', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1', { role: 'coder' })])
          .when(claimNext('agent-2', { now: at(5) }))
          .then([taskClaimed('docs', 'agent-2', { role: 'coder', at: 5, extra: { skipped: [heldApi] } })]));

      it('answers NO_READY_TASK with the skipped tasks when every ready task is held', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1', { role: 'coder' }), taskClaimed('docs', 'agent-3', { role: 'coder' })])
          .when(claimNext('agent-2', { now: at(5) }))
          .thenThrows('NO_READY_TASK', (err) => expect(err.details['skipped']).to.deep.equal([heldApi])));
    });

    describe('when the same agent holds the overlapping claim', () => {
      it('does not stand in its own way', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1', { role: 'coder' })])
          .when(claimNext('agent-1', { now: at(5) }))
          .then([taskClaimed('routes', 'agent-1', { role: 'coder', at: 5 })]));
    });

    describe('when the holder completed or its lease ran out', () => {
      it('frees the files again', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1', { role: 'coder' }), taskCompleted('api', 'agent-1')])
          .when(claimNext('agent-2', { now: at(5) }))
          .then([taskClaimed('routes', 'agent-2', { role: 'coder', at: 5 })]));

      it('no longer counts a lapsed lease', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1')])
          .when(claim('routes', 'agent-2', { now: at(LEASE + 5) }))
          .then([taskClaimed('routes', 'agent-2', { at: LEASE + 5 })]));
    });
  });

  describe('ClaimTask', () => {
    describe('when another agent holds some of its files', () => {
      it('refuses with FILE_CONFLICT (409), naming holder, task and lease end', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1')])
          .when(claim('routes', 'agent-2', { now: at(5) }))
          .thenThrows('FILE_CONFLICT', (err) => {
            expect(err.status).to.equal(409);
            expect(err.details).to.deep.include({ taskId: 'routes', holder: 'agent-1', holderTaskId: 'api', leaseExpiresAt: at(LEASE) });
            expect(err.details['conflicts']).to.deep.equal([heldApi]);
            expect(err.message).to.include('agent-1').and.include('api').and.include(at(LEASE));
          }));

      it('claims with force: true, recording what it overrode', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1')])
          .when(claim('routes', 'agent-2', { now: at(5), force: true }))
          .then([taskClaimed('routes', 'agent-2', { at: 5, extra: { forcedOver: [heldApi] } })]));

      it('treats the same agent label of another plugin as another agent', () =>
        spec
          .given([...project, by('other-plugin', taskClaimed('api', 'agent-1'))])
          .when(claim('routes', 'agent-1', { now: at(5) }))
          .thenThrows('FILE_CONFLICT'));
    });

    describe('when the files are disjoint', () => {
      it('claims', () =>
        spec
          .given([...project, taskClaimed('api', 'agent-1')])
          .when(claim('docs', 'agent-2', { now: at(5) }))
          .then([taskClaimed('docs', 'agent-2', { at: 5 })]));
    });
  });

  describe('advisory marks', () => {
    it('a mark with a TTL reserves its files until it ends', () => {
      const given = [...project, by('other-plugin', filesMarked('agent-9', ['src/**'], at(100)))];
      spec
        .given(given)
        .when(claim('routes', 'agent-2', { now: at(50) }))
        .thenThrows('FILE_CONFLICT', (err) =>
          expect(err.details).to.deep.include({ holder: 'agent-9', holderTaskId: null, leaseExpiresAt: at(100) }),
        );
      spec
        .given(given)
        .when(claim('routes', 'agent-2', { now: at(100) }))
        .then([taskClaimed('routes', 'agent-2', { at: 100 })]);
    });

    it('a mark without a TTL lasts while its agent holds a lease in the project', () => {
      const given = [...project, taskClaimed('docs', 'agent-1'), filesMarked('agent-1', ['src/api/routes.ts'], null)];
      spec
        .given(given)
        .when(claim('routes', 'agent-2', { now: at(5) }))
        .thenThrows('FILE_CONFLICT');
      spec
        .given(given)
        .when(claim('routes', 'agent-2', { now: at(LEASE) }))
        .then([taskClaimed('routes', 'agent-2', { at: LEASE })]);
    });

    it('MarkFiles records the mark and, advisory, what it overlaps', () =>
      spec
        .given([...project, taskClaimed('api', 'agent-1')])
        .when(mark('agent-2', ['src/api/index.ts'], { ttlSeconds: 60, now: at(5) }))
        .then([
          {
            type: 'FilesMarked',
            data: {
              projectId: P,
              agent: 'agent-2',
              files: ['src/api/index.ts'],
              expiresAt: at(65),
              overlaps: [{ taskId: '', files: ['src/api/index.ts'], holder: 'agent-1', holderTaskId: 'api', leaseExpiresAt: at(LEASE) }],
              markedAt: at(5),
            },
          },
        ]));

    it('MarkFiles without a TTL and without a lease is refused with MARK_NEEDS_TTL (422)', () =>
      spec
        .given(project)
        .when(mark('agent-2', ['src/x.ts']))
        .thenThrows('MARK_NEEDS_TTL', (err) => expect(err.status).to.equal(422)));

    it('UnmarkFiles frees the files, and does nothing for files not marked', () => {
      const given = [...project, filesMarked('agent-1', ['src/**'], at(100))];
      spec
        .given(given)
        .when(unmark('agent-1', ['src/**']))
        .then([{ type: 'FilesUnmarked', data: { projectId: P, agent: 'agent-1', files: ['src/**'], unmarkedAt: at(0) } }]);
      spec
        .given(given)
        .when(unmark('agent-1', ['docs/**']))
        .thenNothingHappened();
    });
  });

  function filesMarked(agent: string, files: string[], expiresAt: string | null): FilesMarked {
    return { type: 'FilesMarked', data: { projectId: P, agent, files, expiresAt, overlaps: [], markedAt: at(0) } };
  }

  function mark(agent: string, files: string[], opts: When & { ttlSeconds?: number } = {}): ProjectCommand {
    const ttl = opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds };
    return { type: 'MarkFiles', data: { agent, files, ...ttl }, metadata: metadata(opts.now, opts.as) };
  }

  function unmark(agent: string, files: string[], opts: When = {}): ProjectCommand {
    return { type: 'UnmarkFiles', data: { agent, files }, metadata: metadata(opts.now, opts.as) };
  }
});
