import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

/** The README and the manual in docs/ are read on GitHub: every relative link must land on a file and a heading. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** The text outside fenced code blocks, where links and headings live. */
const prose = (text: string) => text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
const anchors = (text: string): Set<string> => {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
};

/** Relative links `[text](target)` outside code, without the external ones. */
const localLinks = (text: string): string[] =>
  [
    ...prose(text)
      .replace(/`[^`\n]*`/g, '')
      .matchAll(/\]\(([^)\s]+)\)/g),
  ]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));

describe('The README and the manual', () => {
  it('finds the manual pages DESIGN.md names', () => {
    for (const page of ['api', 'walkthrough', 'mcp', 'audit', 'security', 'operations', 'deploy', 'architecture', 'performance', 'README']) {
      expect(pages, page).to.include(`docs/${page}.md`);
    }
  });

  it('keeps the README short: the manual lives in docs/', () => {
    expect(read('README.md').split('\n').length).to.be.below(150);
  });

  for (const page of pages) {
    it(`resolves every relative link of ${page}`, () => {
      const broken: string[] = [];
      for (const target of localLinks(read(page))) {
        const [file = '', anchor] = target.split('#');
        const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        const absolute = path.join(root, resolved);
        if (!existsSync(absolute)) {
          broken.push(`${target}: no file ${resolved}`);
          continue;
        }
        if (anchor === undefined || anchor === '') continue;
        if (statSync(absolute).isDirectory() || !resolved.endsWith('.md')) {
          broken.push(`${target}: an anchor into ${resolved}, which is not a Markdown page`);
        } else if (!anchors(read(resolved)).has(anchor)) {
          broken.push(`${target}: ${resolved} has no heading #${anchor}`);
        }
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
