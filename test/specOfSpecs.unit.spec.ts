import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { lintSpec } from './support/specLint.js';

const TEST_DIR = path.dirname(new URL(import.meta.url).pathname);

/** Every .ts file under test/ that declares tests (spec files and the contracts they share). */
const specSources = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return specSources(full);
    return entry.name.endsWith('.ts') && /\b(it|describe)\(/.test(fs.readFileSync(full, 'utf8')) ? [full] : [];
  });

const rulesOf = (source: string) => lintSpec('sample.spec.ts', source).map((f) => f.rule);

describe('The specs themselves', () => {
  it('hold no it without an assertion, no this.skip() without a printed reason, no .only, no bare skip', () => {
    const files = specSources(TEST_DIR);
    expect(files.length, 'spec files found').to.be.greaterThan(20);
    const findings = files.flatMap((file) => lintSpec(path.relative(TEST_DIR, file), fs.readFileSync(file, 'utf8')));
    expect(findings.map((f) => `test/${f.file}:${f.line} ${f.rule}: ${f.text}`)).to.deep.equal([]);
  });

  describe('when reading a spec', () => {
    it('flags an it whose body asserts nothing', () => {
      expect(rulesOf("it('works', async () => { await run(); });")).to.deep.equal(['no-assertion']);
    });
    it('accepts expect, assert, should and helpers that assert inside, in this file or from test/support', () => {
      const source = `
        const check = (x: number) => expect(x).to.equal(1);
        it('a', () => { expect(1).to.equal(1); });
        it('b', () => assert.equal(1, 1));
        it('c', () => check(1));
        it('d', async () => { ok(await call(client, 'get_task', {})); });
        it('e', () => spec.given([]).when(command).then([]));
        it('f', () => spec.given([]).when(command).thenThrows('TASK_NOT_FOUND'));`;
      expect(rulesOf(source)).to.deep.equal([]);
    });
    it('does not take a promise’s then for an assertion', () => {
      expect(rulesOf("it('p', () => fetch(url).then((r) => r.text()));")).to.deep.equal(['no-assertion']);
    });
    it('flags .only on it and describe', () => {
      expect(rulesOf("describe.only('x', () => { it.only('y', () => expect(1).to.equal(1)); });")).to.deep.equal(['only', 'only']);
    });
    it('flags this.skip() with no printed reason before it in its block', () => {
      expect(rulesOf("it('s', function () { if (!ready) this.skip(); expect(1).to.equal(1); });")).to.deep.equal(['bare-skip']);
    });
    it('accepts this.skip() after a printed reason in the same block', () => {
      const source =
        "it('s', function () { if (!url) { console.error('      (pending: EVENTSTORE_URL is not set)'); this.skip(); } expect(1).to.equal(1); });";
      expect(rulesOf(source)).to.deep.equal([]);
    });
    it('flags it.skip, xit and an it without a body', () => {
      expect(rulesOf("it.skip('a', () => expect(1).to.equal(1)); xit('b', () => expect(1).to.equal(1)); it('c');")).to.deep.equal([
        'bare-skip',
        'bare-skip',
        'bare-skip',
      ]);
    });
  });
});
