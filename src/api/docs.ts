import fs from 'node:fs';
import path from 'node:path';
import type { AnyOperation } from './catalog/operation.js';
import { CORE_TOOLS, STANDARD_TOOLS } from './mcp/toolSets.js';

/**
 * The manual's tables that the operation catalog already knows — routes, tools and the capability each
 * needs — written from it, so they cannot drift from what the server serves. Each table sits between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a docs page; `vespera docs` rewrites them and
 * `vespera docs --check` (and a spec) fails when a committed one is stale.
 */

const code = (text: string) => `\`${text}\``;
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const table = (header: readonly string[], rows: readonly (readonly string[])[]) =>
  [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');

const routes = (operations: readonly AnyOperation[]) =>
  table(
    ['Method', 'Path', 'Capability', 'MCP tool', 'What it does'],
    operations.map((op) => [code(op.method.toUpperCase()), code(op.path), code(op.capability), code(op.tool), op.summary]),
  );

const setOf = (tool: string) =>
  (CORE_TOOLS as readonly string[]).includes(tool) ? 'core' : (STANDARD_TOOLS as readonly string[]).includes(tool) ? 'standard' : 'all';

const tools = (operations: readonly AnyOperation[]) =>
  table(
    ['Tool', 'Smallest set', 'Capability', 'REST', 'What it does'],
    operations.map((op) => [code(op.tool), code(setOf(op.tool)), code(op.capability), code(`${op.method.toUpperCase()} ${op.path}`), op.summary]),
  );

const capabilities = (operations: readonly AnyOperation[]) => {
  const byCapability = new Map<string, string[]>();
  for (const op of operations) byCapability.set(op.capability, [...(byCapability.get(op.capability) ?? []), code(op.tool)]);
  return table(
    ['Capability', 'Operations (MCP tool names)'],
    [...byCapability].sort(([a], [b]) => (a < b ? -1 : 1)).map(([capability, names]) => [code(capability), names.join(', ')]),
  );
};

/** Generated tables by name. */
export const catalogTables = (operations: readonly AnyOperation[]): Record<string, string> => ({
  routes: routes(operations),
  tools: tools(operations),
  capabilities: capabilities(operations),
});

/** Which page holds which table. */
export const GENERATED_PAGES: Readonly<Record<string, readonly string[]>> = {
  'docs/api.md': ['routes'],
  'docs/mcp.md': ['tools'],
  'docs/security.md': ['capabilities'],
};

/** The page with every generated block it holds replaced; throws when a block's markers are missing. */
export const fillGenerated = (page: string, blocks: Readonly<Record<string, string>>, names: readonly string[]): string =>
  names.reduce((text, name) => {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) throw new Error(`the page has no ${open} … ${close} block`);
    return `${text.slice(0, start + open.length)}\n${blocks[name]}\n${text.slice(end)}`;
  }, page);

/** Rewrites (or with `check`, only compares) every generated block under `root`; returns the stale pages. */
export const syncGeneratedDocs = (root: string, operations: readonly AnyOperation[], check: boolean): string[] => {
  const blocks = catalogTables(operations);
  const stale: string[] = [];
  for (const [page, names] of Object.entries(GENERATED_PAGES)) {
    const file = path.join(root, page);
    const current = fs.readFileSync(file, 'utf8');
    const fresh = fillGenerated(current, blocks, names);
    if (fresh === current) continue;
    stale.push(page);
    if (!check) fs.writeFileSync(file, fresh);
  }
  return stale;
};
