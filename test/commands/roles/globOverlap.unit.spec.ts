import { expect } from 'chai';
import { compileGlobs } from '../../../src/commands/roles/glob.js';
import { overlappingFiles, patternsOverlap } from '../../../src/commands/roles/globOverlap.js';
import { seeded } from '../../support/random.js';

/** When two claims' files collide: glob against glob, path against glob, path against path (docs/claims.md#file-overlap). */
describe('File pattern overlap', () => {
  const overlap = (a: string, b: string) => {
    const answer = patternsOverlap(a, b);
    expect(patternsOverlap(b, a), `${b} vs ${a} (symmetry)`).to.equal(answer);
    return answer;
  };

  describe('when one side is a plain path', () => {
    it('meets a glob that matches it', () => {
      expect(overlap('src/**', 'src/a.ts')).to.equal(true);
      expect(overlap('src/*.ts', 'src/a.ts')).to.equal(true);
      expect(overlap('**/*.md', 'docs/x.md')).to.equal(true);
    });

    it('misses a glob that does not match it', () => {
      expect(overlap('src/*.ts', 'src/a.js')).to.equal(false);
      expect(overlap('test/**', 'src/a.ts')).to.equal(false);
    });

    it('takes `*` as one segment only: `*.md` is top-level Markdown, not docs/x.md', () => {
      expect(overlap('*.md', 'docs/x.md')).to.equal(false);
      expect(overlap('*.md', 'README.md')).to.equal(true);
    });

    it('takes `a/*` as direct children only: it misses a/b/c', () => {
      expect(overlap('a/*', 'a/b/c')).to.equal(false);
      expect(overlap('a/*', 'a/b')).to.equal(true);
      expect(overlap('a/**', 'a/b/c')).to.equal(true);
    });

    it('compares two paths by equality, ignoring a leading ./', () => {
      expect(overlap('src/a.ts', './src/a.ts')).to.equal(true);
      expect(overlap('src/a.ts', 'src/b.ts')).to.equal(false);
    });

    it('reads a trailing / as the whole directory', () => {
      expect(overlap('src/', 'src/deep/a.ts')).to.equal(true);
      expect(overlap('src/', 'srcx/a.ts')).to.equal(false);
    });
  });

  describe('when both sides are globs', () => {
    it('meets where `**` can stand for the other side', () => {
      expect(overlap('src/**', 'src/api/*.ts')).to.equal(true);
      expect(overlap('**/*.ts', 'src/**')).to.equal(true);
      expect(overlap('**', 'anything/at/all')).to.equal(true);
    });

    it('keeps disjoint globs apart', () => {
      expect(overlap('src/**', 'test/**')).to.equal(false);
      expect(overlap('*.md', '*.ts')).to.equal(false);
      expect(overlap('src/*.ts', 'src/*/*.ts')).to.equal(false);
      expect(overlap('docs/a*', 'docs/b*')).to.equal(false);
    });

    it('meets where literal prefixes and suffixes agree (erring towards overlap)', () => {
      expect(overlap('src/a*', 'src/*b')).to.equal(true);
      expect(overlap('src/*.{ts,md}', 'src/x*.md')).to.equal(true);
      expect(overlap('src/[ab]*.ts', 'src/c*.ts')).to.equal(true);
    });

    it('expands braces on both sides', () => {
      expect(overlap('{src,lib}/**', 'lib/x.ts')).to.equal(true);
      expect(overlap('{src,lib}/**', 'test/x.ts')).to.equal(false);
    });
  });

  describe('on random patterns against every path of a small tree', () => {
    // Every path of up to three segments over a few names: a pair of patterns that some path matches both of must overlap.
    const names = ['a', 'b', 'x.ts', 'y.md'];
    const paths: string[] = [];
    const grow = (prefix: string[], depth: number) => {
      for (const name of names) {
        const path = [...prefix, name];
        paths.push(path.join('/'));
        if (depth < 3) grow(path, depth + 1);
      }
    };
    grow([], 1);
    const segment = (r: ReturnType<typeof seeded>) => r.pick([...names, '*', '**', '*.ts', '*.md', 'a*', '?', '{a,b}']);
    const pattern = (r: ReturnType<typeof seeded>) => Array.from({ length: r.int(1, 3) }, () => segment(r)).join('/');

    for (const seed of [1, 2, 3]) {
      it(`never calls two patterns disjoint when a path matches both, and agrees both ways (seed ${seed})`, () => {
        const r = seeded(seed);
        let sharing = 0;
        for (let n = 0; n < 400; n++) {
          const [a, b] = [pattern(r), pattern(r)];
          const [matchA, matchB] = [compileGlobs([a]), compileGlobs([b])];
          const shared = paths.find((path) => matchA(path) && matchB(path));
          if (shared !== undefined) sharing += 1;
          if (shared !== undefined) expect(overlap(a, b), `${a} vs ${b} (both match ${shared})`).to.equal(true);
          else overlap(a, b);
        }
        expect(sharing, 'pairs sharing a path').to.be.greaterThan(50);
      });
    }
  });

  it('lists which of my patterns meet theirs', () => {
    expect(overlappingFiles(['src/a.ts', 'docs/x.md', 'README.md'], ['src/**', '*.md'])).to.deep.equal(['src/a.ts', 'README.md']);
  });
});
