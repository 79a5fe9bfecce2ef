import { expect } from 'chai';
import {
  assignmentReasons,
  filesOutsidePatterns,
  rankSuitableRoles,
  type AssignableRole,
  type AssignmentReason,
  type AssignmentTask,
} from '../../../src/commands/roles/assignment.js';
import { DEFAULT_ROLE_FILES, loadRoleFiles } from '../../../src/commands/roles/roleFiles.js';

describe('Role assignment', () => {
  const tester = role('tester', {
    capabilities: ['testing', 'code_analysis', 'code_writing'],
    filePatterns: ['**/test/**', '**/*.test.*', '**/*.spec.*'],
    maxConcurrentTasks: 2,
  });
  const fittingTask: AssignmentTask = { requiredCapabilities: ['testing'], files: ['src/a.test.ts'], depth: 1 };
  const idle = { inProgress: 0 };

  const given = (r: AssignableRole | undefined, name = r?.name ?? 'ghost') => ({
    when: (task: Partial<AssignmentTask>, workload = idle) => ({
      then: (check: (reasons: AssignmentReason[]) => void) => check(assignmentReasons(r, name, { ...fittingTask, ...task }, workload)),
    }),
  });
  const codes = (reasons: AssignmentReason[]) => reasons.map((r) => r.code);

  describe('when the role covers the task', () => {
    it('gives no reason to refuse', () =>
      given(tester)
        .when({})
        .then((reasons) => expect(reasons).to.deep.equal([])));

    it('allows a task exactly at the deepest depth and one below the workload limit', () =>
      given(tester)
        .when({ depth: 5 }, { inProgress: 1 })
        .then((reasons) => expect(reasons).to.deep.equal([])));
  });

  describe('when the role does not exist', () => {
    it('refuses with UNKNOWN_ROLE alone, whatever else the task asks', () =>
      given(undefined, 'ghost')
        .when({ requiredCapabilities: ['deployment'], files: ['/etc/passwd'], depth: 99 })
        .then((reasons) => expect(reasons).to.deep.equal([{ code: 'UNKNOWN_ROLE', message: 'No role is named `ghost`.', role: 'ghost' }])));
  });

  describe('when the role is retired', () => {
    it('refuses with ROLE_RETIRED', () =>
      given({ ...tester, retired: true })
        .when({})
        .then((reasons) => expect(codes(reasons)).to.deep.equal(['ROLE_RETIRED'])));
  });

  describe('when the task needs capabilities the role lacks', () => {
    it('refuses with MISSING_CAPABILITIES listing each one once', () =>
      given(tester)
        .when({ requiredCapabilities: ['testing', 'deployment', 'design', 'deployment'] })
        .then((reasons) => {
          expect(codes(reasons)).to.deep.equal(['MISSING_CAPABILITIES']);
          expect(reasons[0]).to.include({ message: 'Role `tester` lacks deployment, design.' });
          expect(reasons[0]?.missing).to.deep.equal(['deployment', 'design']);
        }));
  });

  describe('when the task touches files outside the role patterns', () => {
    it('refuses with FILES_OUTSIDE_PATTERNS listing only the uncovered files', () =>
      given(tester)
        .when({ files: ['src/a.test.ts', 'src/a.ts', 'test/unit/b.ts', 'README.md'] })
        .then((reasons) => {
          expect(codes(reasons)).to.deep.equal(['FILES_OUTSIDE_PATTERNS']);
          expect(reasons[0]?.files).to.deep.equal(['src/a.ts', 'README.md']);
          expect(reasons[0]?.patterns).to.deep.equal(tester.filePatterns);
        }));
  });

  describe('when the role is at its workload limit', () => {
    it('refuses with WORKLOAD_LIMIT giving the count and the limit', () =>
      given(tester)
        .when({}, { inProgress: 2 })
        .then((reasons) => expect(reasons).to.deep.equal([workloadLimit(2, 2)])));

    it('also refuses above the limit (a limit lowered after the fact)', () =>
      given(tester)
        .when({}, { inProgress: 3 })
        .then((reasons) => expect(codes(reasons)).to.deep.equal(['WORKLOAD_LIMIT'])));
  });

  describe('when the task is deeper than the role may go', () => {
    it('refuses with TASK_TOO_DEEP giving both depths', () =>
      given(tester)
        .when({ depth: 6 })
        .then((reasons) => {
          expect(codes(reasons)).to.deep.equal(['TASK_TOO_DEEP']);
          expect(reasons[0]).to.include({ depth: 6, maxTaskDepth: 5 });
        }));
  });

  describe('when several rules are broken at once', () => {
    it('gives every reason, in a stable order', () =>
      given({ ...tester, retired: true })
        .when({ requiredCapabilities: ['deployment'], files: ['infra/main.tf'], depth: 9 }, { inProgress: 2 })
        .then((reasons) =>
          expect(codes(reasons)).to.deep.equal(['ROLE_RETIRED', 'MISSING_CAPABILITIES', 'FILES_OUTSIDE_PATTERNS', 'WORKLOAD_LIMIT', 'TASK_TOO_DEEP']),
        ));

    it('gives each reason a human message', () =>
      given(tester)
        .when({ requiredCapabilities: ['design'], files: ['a.ts', 'b.ts'] }, { inProgress: 2 })
        .then((reasons) =>
          expect(reasons.map((r) => r.message)).to.deep.equal([
            'Role `tester` lacks design.',
            'a.ts, b.ts are outside the file patterns of role `tester`.',
            'Role `tester` already has 2 task(s) in progress, its limit is 2.',
          ]),
        ));
  });

  describe('File patterns', () => {
    it('match dotfiles and dot-directories', () => expect(filesOutsidePatterns(['.github/workflows/ci.yml', '.env'], ['**/*'])).to.deep.equal([]));

    it('match `**/` at any depth, including none', () =>
      expect(filesOutsidePatterns(['Dockerfile', 'svc/api/Dockerfile', 'Dockerfile.dev'], ['**/Dockerfile'])).to.deep.equal(['Dockerfile.dev']));

    it('match braces and extension wildcards', () =>
      expect(filesOutsidePatterns(['ui/a.tsx', 'ui/a.ts', 'b.spec.js'], ['**/*.{tsx,jsx}', '**/*.spec.*'])).to.deep.equal(['ui/a.ts']));

    it('keep `*` within one directory', () => expect(filesOutsidePatterns(['src/a.ts', 'src/x/b.ts'], ['src/*'])).to.deep.equal(['src/x/b.ts']));

    it('ignore a leading ./', () => expect(filesOutsidePatterns(['./src/a.ts'], ['src/**'])).to.deep.equal([]));

    it('never cover a path that leaves the project, even with **', () =>
      expect(filesOutsidePatterns(['/etc/passwd', '../secrets', 'src/../../x', 'C:/boot.ini'], ['**'])).to.have.length(4));

    it('cover nothing when there are none', () => expect(filesOutsidePatterns(['a.ts'], [])).to.deep.equal(['a.ts']));

    it('are never compiled to a regular expression: a stored `(a+)+b` covers nothing, at once', () => {
      const started = performance.now();
      expect(filesOutsidePatterns([`${'a'.repeat(30)}c`, 'aab'], ['(a+)+b'])).to.have.length(2);
      expect(performance.now() - started).to.be.below(50);
    });

    it('are compiled per pattern list, so lists do not leak into each other', () => {
      expect(filesOutsidePatterns(['docs/a.md'], ['docs/**'])).to.deep.equal([]);
      expect(filesOutsidePatterns(['docs/a.md'], ['src/**'])).to.deep.equal(['docs/a.md']);
      expect(filesOutsidePatterns(['docs/a.md'], ['docs/**'])).to.deep.equal([]);
    });
  });

  describe('Suitable roles', () => {
    const broad = role('broad', { capabilities: ['testing', 'code_analysis', 'code_writing', 'documentation'], maxConcurrentTasks: 9 });
    const narrow = role('narrow', { capabilities: ['testing'], maxConcurrentTasks: 2 });
    const narrowRoomy = role('narrow_roomy', { capabilities: ['testing'], maxConcurrentTasks: 5 });
    const writer = role('writer', { capabilities: ['documentation'] });
    const analyst = role('analyst', { capabilities: ['code_analysis'] });
    const rank = (roles: AssignableRole[], required: string[], files: string[] = [], workload = new Map<string, number>()) =>
      rankSuitableRoles(roles, required, files, workload);

    it('puts the tightest fit first, then the one with most free capacity', () =>
      expect(rank([broad, narrow, narrowRoomy], ['testing']).map((r) => r.role)).to.deep.equal(['narrow_roomy', 'narrow', 'broad']));

    it('counts free capacity from the current workload', () => {
      const ranked = rank([narrow, narrowRoomy], ['testing'], [], new Map([['narrow_roomy', 4]]));
      expect(ranked.map((r) => [r.role, r.freeCapacity])).to.deep.equal([
        ['narrow', 2],
        ['narrow_roomy', 1],
      ]);
    });

    it('puts a role at its limit among the unsuitable ones', () => {
      const [first, second] = rank([narrow, broad], ['testing'], [], new Map([['narrow', 2]]));
      expect(first).to.include({ role: 'broad', suitable: true });
      expect(second).to.include({ role: 'narrow', suitable: false, inProgress: 2, limit: 2, freeCapacity: 0 });
    });

    it('ranks unsuitable roles by fewest missing capabilities, then free capacity', () =>
      expect(rank([writer, analyst, broad], ['code_analysis', 'design']).map((r) => [r.role, r.missingCapabilities])).to.deep.equal([
        ['broad', ['design']],
        ['analyst', ['design']],
        ['writer', ['code_analysis', 'design']],
      ]));

    it('makes a role whose patterns miss a file unsuitable, naming the file', () => {
      const docsOnly = role('docs_only', { capabilities: ['testing'], filePatterns: ['docs/**'] });
      const [first, second] = rank([docsOnly, broad], ['testing'], ['src/a.ts']);
      expect(first).to.include({ role: 'broad', suitable: true });
      expect(second).to.deep.include({ role: 'docs_only', suitable: false, filesOutside: ['src/a.ts'] });
    });

    it('leaves retired roles out', () =>
      expect(rank([{ ...narrow, retired: true }, broad], ['testing']).map((r) => r.role)).to.deep.equal(['broad']));

    it('scores suitable roles 0.5–1 and the rest below, in ranking order', () => {
      const scores = rank([broad, narrow, writer], ['testing']).map((r) => r.score);
      expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
      expect(scores[1]).to.be.at.least(0.5);
      expect(scores[2]).to.be.below(0.5);
    });

    it('with the shipped roles, puts the tester among the tightest fits for a unit-test task', () => {
      // The coding roles ship without a role-wide cap, so equally tight roles tie on capacity and are ordered by name.
      const { roles } = loadRoleFiles(DEFAULT_ROLE_FILES);
      const ranked = rank(roles, ['testing', 'code_writing'], ['src/queue.test.ts']);
      const tightest = ranked.filter((r) => r.suitable && r.extraCapabilities === ranked[0]!.extraCapabilities);
      expect(ranked[0]).to.include({ suitable: true, extraCapabilities: 1 });
      expect(tightest.map((r) => r.role)).to.include('tester');
    });
  });
});

function role(name: string, overrides: Partial<AssignableRole> = {}): AssignableRole {
  return {
    name,
    description: `The ${name} role`,
    capabilities: ['code_analysis'],
    filePatterns: ['**/*'],
    tools: ['read_file'],
    maxConcurrentTasks: 3,
    restrictions: { maxFileChanges: 10, maxTaskDepth: 5, requireApproval: false, timeLimitMinutes: 60 },
    ...overrides,
  };
}

function workloadLimit(inProgress: number, limit: number): AssignmentReason {
  return {
    code: 'WORKLOAD_LIMIT',
    message: `Role \`tester\` already has ${inProgress} task(s) in progress, its limit is ${limit}.`,
    inProgress,
    limit,
  };
}
