import os from 'node:os';
import { expect } from 'chai';
import { compareOutput, IdMap, parseTranscript, Shell } from './transcript.js';

const ID_A = '01a2364b-15ba-71a6-8d41-8d078e887224';
const ID_B = '01a2364b-15ba-71a6-8d41-9696843098ac';
const RUN_A = '0192ffff-0000-7000-8000-000000000001';
const RUN_B = '0192ffff-0000-7000-8000-000000000002';

describe('Console transcripts (test/deploy/transcript.ts)', () => {
  describe('parseTranscript', () => {
    it('reads the commands of console blocks only, each with the lines printed under it', () => {
      const page = ['```bash', '$ not a transcript', '```', '```console', '$ echo a', 'a', '$ true', '$ printf "b\\nc\\n"', 'b', 'c', '```'].join(
        '\n',
      );
      expect(parseTranscript(page)).to.deep.equal([
        { line: 5, command: 'echo a', expected: ['a'] },
        { line: 7, command: 'true', expected: [] },
        { line: 8, command: 'printf "b\\nc\\n"', expected: ['b', 'c'] },
      ]);
    });

    it('continues a command over a trailing backslash and over an open quote', () => {
      const page = ['```console', '$ echo one \\', '    two', 'one two', "$ X='{", '  "a": 1 }\'', '$ echo "$X"', '{', '  "a": 1 }', '```'].join(
        '\n',
      );
      expect(parseTranscript(page).map((s) => s.command)).to.deep.equal(['echo one \\\n    two', 'X=\'{\n  "a": 1 }\'', 'echo "$X"']);
    });
  });

  describe('compareOutput', () => {
    it('lets ids, times, Unix times and window seconds differ', () => {
      const page = [
        `{"id":"${ID_A}","at":"2026-11-30T03:05:55.871Z","iat":1796007957}`,
        'RateLimit: limit=300, remaining=0, reset=50',
        'Retry-After: 50',
      ];
      const run = `{"id":"${RUN_A}","at":"2027-01-01T00:00:00Z","iat":1800000000}\nRateLimit: limit=300, remaining=0, reset=3\nRetry-After: 3\n`;
      expect(compareOutput(page, run, new IdMap())).to.equal(undefined);
    });

    it('holds each documented id to the same id of the run all through the page, both ways', () => {
      const ids = new IdMap();
      expect(compareOutput([`"${ID_A}"`], `"${RUN_A}"`, ids)).to.equal(undefined);
      expect(compareOutput([`"${ID_A}","${ID_B}"`], `"${RUN_A}","${RUN_B}"`, ids)).to.equal(undefined);
      expect(compareOutput([`"${ID_A}"`], `"${RUN_B}"`, ids)).to.match(/^ids: /);
      expect(compareOutput([`"${ID_B}","${ID_B}"`], `"${RUN_B}","${RUN_A}"`, new IdMap())).to.match(/^ids: /);
    });

    it('compares numbers with a fraction within 0.1 %, and every other number exactly', () => {
      expect(compareOutput(['{"similarity":0.38859003999999997}'], '{"similarity":0.38859004}', new IdMap())).to.equal(undefined);
      expect(compareOutput(['{"score":0.01639344262295082}'], '{"score":0.016129032258064516}', new IdMap())).to.match(/is not/);
      expect(compareOutput(['X-Vespera-Position: 26'], 'X-Vespera-Position: 27', new IdMap())).to.match(/different text/);
      expect(compareOutput(['{"score":0.875}'], '{"score":1}', new IdMap())).to.match(/different text/);
    });

    it('wants the same lines in the same order, ignoring trailing white space and CRs', () => {
      expect(compareOutput(['HTTP/1.1 200 OK', 'ETag: W/"7"'], 'HTTP/1.1 200 OK\r\nETag: W/"7"\r\n\n', new IdMap())).to.equal(undefined);
      expect(compareOutput(['a', 'b'], 'b\na\n', new IdMap())).to.match(/^output line 1/);
      expect(compareOutput(['a'], 'a\nb\n', new IdMap())).to.match(/a line the page does not have/);
      expect(compareOutput(['a', 'b'], 'a\n', new IdMap())).to.match(/missing/);
    });
  });

  describe('Shell', () => {
    let shell: Shell;
    before(() => {
      shell = new Shell(os.tmpdir(), { PATH: process.env.PATH });
    });
    after(() => shell.close());

    it('keeps variables between commands and merges stderr into the output in order', async () => {
      await shell.run('X=kept', 5000);
      expect(await shell.run('echo "$X"; echo oops >&2; echo after', 5000)).to.deep.equal({ output: 'kept\noops\nafter\n', status: 0 });
    });

    it('reports the exit status and gives commands no stdin to read the next command from', async () => {
      expect(await shell.run('false', 5000)).to.deep.equal({ output: '', status: 1 });
      expect(await shell.run('cat; echo read-nothing', 5000)).to.deep.equal({ output: 'read-nothing\n', status: 0 });
    });
  });
});
