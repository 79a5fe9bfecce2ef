import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { catalogTables, fillGenerated, GENERATED_PAGES } from '../../src/api/docs.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The manual cannot rot where the code knows better: the route, tool and capability tables must be what
 * `npm run docs` writes from the running catalog, and every error code the code can raise has its row.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Codes raised and caught inside the server, never answered to a caller. */
const INTERNAL_CODES = new Set(['NO_READY_TASK']);

const sourceFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });

describe('Generated docs', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  for (const [page, names] of Object.entries(GENERATED_PAGES)) {
    it(`${page} holds the tables ${names.join(', ')} as the catalog writes them (else run \`npm run docs\`)`, () => {
      const committed = fs.readFileSync(path.join(ROOT, page), 'utf8');
      expect(fillGenerated(committed, catalogTables(app.operations), names)).to.equal(committed);
    });
  }

  it('lists every operation of the catalog in the route table', () => {
    const api = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
    for (const op of app.operations) expect(api, op.name).to.include(`| \`${op.method.toUpperCase()}\` | \`${op.path}\` |`);
  });

  it('gives every error code the code can answer with a row in the error table of docs/api.md', () => {
    const api = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
    const raised = new Set<string>();
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\b(?:DomainError|notFound|conflict|unprocessable|badRequest|unauthorized)\(\s*'([A-Z][A-Z_]+)'/g))
        raised.add(match[1]!);
    }
    expect(raised.size).to.be.above(40);
    const missing = [...raised].filter((code) => !INTERNAL_CODES.has(code) && !new RegExp(`^\\| \`${code}\` \\|`, 'm').test(api));
    expect(missing, 'error codes without a row in docs/api.md').to.deep.equal([]);
  });
});
