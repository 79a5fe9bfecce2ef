import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { DEFAULT_ROLE_FILES, loadRoleFiles, roleDefaultsDir, RoleFileError } from '../../../src/commands/roles/roleFiles.js';
import { TOOL_GROUPS } from '../../../src/events/vocabulary.js';

const ENHANCED = [
  'architect',
  'coder',
  'researcher',
  'tester',
  'reviewer',
  'documenter',
  'debugger',
  'orchestrator',
  'creative_coordinator',
  'ask_mode',
  'mcp_tool_tester',
];

describe('Role files', () => {
  describe('when the shipped files are loaded', () => {
    const { roles, sources } = loadRoleFiles(DEFAULT_ROLE_FILES);

    it('finds them in the repository roles/ directory, default set first', () => {
      expect(basename(roleDefaultsDir())).to.equal('roles');
      expect(DEFAULT_ROLE_FILES.map((f) => basename(f))).to.deep.equal(['default_roles.yaml', 'enhanced_roles.yaml']);
    });

    it('defines 16 roles, the eleven enhanced ones among them', () => {
      expect(roles).to.have.length(16);
      expect(roles.map((r) => r.name)).to.include.members(ENHANCED);
    });

    it('names each role source from the repository root', () => {
      for (const name of ENHANCED) expect(sources[name]).to.equal('roles/enhanced_roles.yaml');
      expect(sources.generalist).to.equal('roles/default_roles.yaml');
    });

    it('turns snake_case into the camelCase wire shape', () => {
      const coder = roles.find((r) => r.name === 'coder');
      expect(coder).to.include({ maxConcurrentTasks: null, maxConcurrentTasksPerAgent: 2 });
      expect(coder?.restrictions).to.deep.equal({ maxFileChanges: 25, maxTaskDepth: 10, requireApproval: false, timeLimitMinutes: 120 });
      expect(coder?.filePatterns).to.include('src/**');
    });

    it('gives every role known capabilities, and none that writes code to the reviewer or ask_mode', () => {
      for (const role of roles) expect(TOOL_GROUPS).to.include.members(role.capabilities);
      for (const name of ['reviewer', 'ask_mode'])
        expect(roles.find((r) => r.name === name)?.capabilities).to.have.members(['code_analysis', 'documentation']);
    });
  });

  describe('when a file is refused', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vespera-roles-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const write = (name: string, text: string): string => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const refusal = (files: string[]): RoleFileError => {
      try {
        loadRoleFiles(files);
      } catch (error) {
        expect(error).to.be.instanceOf(RoleFileError);
        return error as RoleFileError;
      }
      throw new Error('expected the role files to be refused');
    };
    const coder = () => ({
      description: 'Writes code',
      capabilities: ['code_writing', 'code_analysis'],
      file_patterns: ['src/**', 'test/**'],
      tools: ['read_file', 'write_file'],
      max_concurrent_tasks: 3,
      restrictions: { max_file_changes: 25, max_task_depth: 10, require_approval: false, time_limit_minutes: 120 },
    });
    const fileWith = (name: string, change: (role: Record<string, unknown>) => void, roleName = 'coder'): string => {
      const role: Record<string, unknown> = coder();
      change(role);
      return write(name, stringify({ version: 1, roles: { [roleName]: role } }));
    };
    const expectRefusal = (file: string, path: string, problem: RegExp): RoleFileError => {
      const error = refusal([file]);
      expect(error.file).to.equal(file);
      expect(error.path).to.equal(path);
      expect(error.problem).to.match(problem);
      expect(error.message).to.include(`${file}: ${path ? `${path} ` : ''}`);
      return error;
    };

    it('accepts a well-formed file (the baseline the refusals vary)', () => {
      expect(loadRoleFiles([fileWith('ok.yaml', () => undefined)]).roles.map((r) => r.name)).to.deep.equal(['coder']);
    });

    it('refuses a file that cannot be read', () => expectRefusal(join(dir, 'missing.yaml'), '', /cannot be read: ENOENT/));

    it('refuses a file over 256 KB', () =>
      expectRefusal(write('big.yaml', `# ${'x'.repeat(300 * 1024)}\nversion: 1\n`), '', /over the 256 KB limit/));

    it('refuses a YAML syntax error with its line and column', () =>
      expectRefusal(write('syntax.yaml', 'version: 1\nroles:\n  coder: [a, b\n'), '', /not valid YAML at line \d+, column \d+/));

    it('refuses a file whose aliases would expand without bound', () => {
      const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (const [from, to] of [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'd'],
      ])
        levels.push(`${to}: &${to} [${Array(10).fill(`*${from}`).join(', ')}]`);
      expectRefusal(write('aliases.yaml', levels.join('\n')), '', /cannot be expanded: Excessive alias count/);
    });

    it('refuses a role defined twice in one file, pointing at the second one', () => {
      const entry = JSON.stringify(coder());
      const text = `version: 1\nroles:\n  coder: ${entry}\n  tester: ${entry}\n  coder: ${entry}\n`;
      expectRefusal(write('twice.yaml', text), '/roles/coder', /^is defined twice \(second time at line 5, column 3\)$/);
    });

    it('refuses a key repeated inside a role', () =>
      expectRefusal(
        write('twice-key.yaml', 'version: 1\nroles:\n  coder:\n    description: a\n    description: b\n'),
        '/roles/coder/description',
        /defined twice/,
      ));

    it('refuses a capability that is not a tool group, naming the allowed ones', () => {
      const file = fileWith('capability.yaml', (r) => (r.capabilities = ['code_writing', 'hacking']));
      const error = expectRefusal(file, '/roles/coder/capabilities/1', /^must be one of /);
      expect(error.message).to.equal(`${file}: /roles/coder/capabilities/1 must be one of ${TOOL_GROUPS.join(', ')}`);
    });

    it('refuses an unknown field', () =>
      expectRefusal(
        fileWith('field.yaml', (r) => (r.max_tasks = 3)),
        '/roles/coder/max_tasks',
        /is not a known field/,
      ));

    it('refuses camelCase keys, which belong on the wire, not in files', () =>
      expectRefusal(
        fileWith('camel.yaml', (r) => ((r.filePatterns = r.file_patterns), delete r.file_patterns)),
        '/roles/coder/file_patterns',
        /is required/,
      ));

    it('refuses a missing restriction', () =>
      expectRefusal(
        fileWith('restriction.yaml', (r) => delete (r.restrictions as Record<string, unknown>).time_limit_minutes),
        '/roles/coder/restrictions/time_limit_minutes',
        /is required/,
      ));

    it('refuses an out-of-bounds limit', () =>
      expectRefusal(
        fileWith('bounds.yaml', (r) => (r.max_concurrent_tasks = 0)),
        '/roles/coder/max_concurrent_tasks',
        /must be >= 1/,
      ));

    it('refuses a per-agent limit below 1', () =>
      expectRefusal(
        fileWith('per-agent.yaml', (r) => (r.max_concurrent_tasks_per_agent = 0)),
        '/roles/coder/max_concurrent_tasks_per_agent',
        /must be >= 1/,
      ));

    it('takes a null role-wide limit and a per-agent limit, and reads a missing per-agent limit as null', () => {
      const [capped] = loadRoleFiles([
        fileWith('swarm.yaml', (r) => ((r.max_concurrent_tasks = null), (r.max_concurrent_tasks_per_agent = 2))),
      ]).roles;
      expect(capped).to.include({ maxConcurrentTasks: null, maxConcurrentTasksPerAgent: 2 });
      const [plain] = loadRoleFiles([fileWith('plain.yaml', () => undefined)]).roles;
      expect(plain).to.include({ maxConcurrentTasks: 3, maxConcurrentTasksPerAgent: null });
    });

    it('refuses a role without capabilities', () =>
      expectRefusal(
        fileWith('empty-caps.yaml', (r) => (r.capabilities = [])),
        '/roles/coder/capabilities',
        /fewer than 1 items/,
      ));

    it('refuses a role name that is not a lower-case identifier', () =>
      expectRefusal(
        fileWith('name.yaml', () => undefined, 'Coder'),
        '/roles/Coder',
        /not a valid role name/,
      ));

    it('refuses an unknown version and an empty file', () => {
      expectRefusal(write('version.yaml', stringify({ version: 2, roles: { coder: coder() } })), '/version', /must be equal to constant/);
      expectRefusal(write('empty.yaml', ''), '', /must be a YAML mapping with `version` and `roles`/);
    });

    it('reports every schema problem of a file at once', () => {
      const error = refusal([fileWith('many.yaml', (r) => ((r.capabilities = ['nope']), (r.max_concurrent_tasks = 5000)))]);
      expect(error.problems.map((p) => p.path)).to.have.members(['/roles/coder/capabilities/0', '/roles/coder/max_concurrent_tasks']);
      expect(error.message).to.include('; ');
    });

    it('refuses a role name used by two files, naming the file that defined it first', () => {
      const first = fileWith('first.yaml', () => undefined);
      const second = fileWith('second.yaml', () => undefined);
      const error = refusal([first, second]);
      expect(error).to.include({ file: second, path: '/roles/coder' });
      expect(error.problem).to.equal(`duplicates the role defined in ${first}`);
    });

    const badGlobs: Array<[string, string, RegExp]> = [
      ['that is empty', '', /fewer than 1 characters/],
      ['with a NUL character', 'src/\0/**', /NUL character/],
      ['longer than 512 characters', `src/${'a'.repeat(520)}`, /more than 512 characters/],
      ['that is absolute', '/etc/**', /relative to the project root/],
      ['that is drive-qualified', 'C:/Windows/**', /relative to the project root/],
      ['that leaves the project with ..', 'src/../../secrets/**', /no `\.\.` segment/],
      ['with an unclosed bracket', 'src/[abc', /not a valid glob: Missing closing/],
      ['with an unclosed brace', 'src/**/*.{ts,js', /not a valid glob: Missing closing/],
      ['with nested quantifiers (a regular expression)', '(a+)+b', /regular-expression syntax/],
      ['with an extglob', 'src/+(a|aa)/**', /extglob `\+\(` is not supported/],
      ['with nested braces', 'src/{a,{b,c}}', /nested `\{`/],
      ['with a backslash', 'src\\**', /`\\` is not supported/],
    ];
    it('refuses file patterns that together expand past 8192 characters, pointing at the list', () =>
      expectRefusal(
        fileWith(
          'glob-total.yaml',
          (r) => (r.file_patterns = Array.from({ length: 40 }, (_, i) => `d${i}/{${'a'.repeat(120)},${'b'.repeat(120)}}/**`)),
        ),
        '/roles/coder/file_patterns',
        /once braces are expanded, over the limit of 8192/,
      ));

    for (const [what, pattern, problem] of badGlobs) {
      it(`refuses a file pattern ${what}`, () =>
        expectRefusal(
          fileWith(`glob-${what.replaceAll(/\W/g, '_')}.yaml`, (r) => (r.file_patterns = ['src/**', pattern])),
          '/roles/coder/file_patterns/1',
          problem,
        ));
    }
  });
});
