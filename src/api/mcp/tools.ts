import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AnyOperation } from '../catalog/operation.js';
import { mcpInputSchema, mcpOutputSchema, withIdempotencyKey } from './schemas.js';
import type { Logger } from 'pino';
import { budgetOf, CORE_TOOLS, selectTools, STANDARD_TOOLS } from './toolSets.js';

const DESTRUCTIVE = /^(delete|remove|retire|revoke)_/;

/** `get_task` → `Get task`. */
export const titleOf = (tool: string): string => {
  const words = tool.split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/**
 * One MCP tool per catalog operation: name, description, schemas, capability and handler all come from the
 * operation. A terse tool keeps its title, its summary and every validating keyword, and drops its field
 * descriptions and the required fields of its answer. MCP assumes a write is destructive, so writes say when not.
 */
export const toolOf = (op: AnyOperation, { terse = false } = {}): Tool => {
  const write = op.kind === 'command';
  const destructive = write && (op.method === 'delete' || DESTRUCTIVE.test(op.tool));
  const input = mcpInputSchema(op.input, { tool: op.tool, terse });
  return {
    name: op.tool,
    title: titleOf(op.tool),
    description: op.summary,
    inputSchema: (write ? withIdempotencyKey(input) : input) as Tool['inputSchema'],
    outputSchema: (terse ? { type: 'object' } : mcpOutputSchema(op)) as Tool['outputSchema'],
    annotations: write
      ? { destructiveHint: destructive, ...(op.method === 'put' || op.method === 'delete' ? { idempotentHint: true } : {}) }
      : { readOnlyHint: true },
  };
};

const inSet = (names: readonly string[]) => (op: AnyOperation) => names.includes(op.tool);

/** From most to least guidance: which tools are served in full; the first level that fits the budget wins. */
const DETAIL_LEVELS = [
  { name: 'full', full: (_op: AnyOperation) => true },
  { name: 'standard tools in full', full: inSet(STANDARD_TOOLS) },
  { name: 'core tools in full', full: inSet(CORE_TOOLS) },
  { name: 'terse', full: (_op: AnyOperation) => false },
] as const;

/** The served tool list and the operation behind each tool name, computed once per tool set. */
export type McpTools = Readonly<{
  list: readonly Tool[];
  byName: ReadonlyMap<string, AnyOperation>;
  /** Every tool name of the catalog, served or not: a hint naming one that is not served is not given. */
  known: ReadonlySet<string>;
  /** How much guidance the budget left room for. */
  detail: (typeof DETAIL_LEVELS)[number]['name'];
  tokens: number;
}>;

/** Size of a `tools/list` answer in tokens, counted as characters / 4. */
export const tokensOf = (value: unknown): number => Math.ceil(JSON.stringify(value).length / 4);

/**
 * The tools for these operations, as detailed as `budgetTokens` allows: every tool in full when the list fits,
 * else tools outside `standard`, then outside `core`, are served terse. The last level is served even if over.
 */
export const mcpTools = (
  operations: readonly AnyOperation[],
  budgetTokens = Infinity,
  known: ReadonlySet<string> = new Set(operations.map((op) => op.tool)),
): McpTools => {
  const byName = new Map(operations.map((op) => [op.tool, op]));
  let served: McpTools | undefined;
  for (const level of DETAIL_LEVELS) {
    const list = operations.map((op) => toolOf(op, { terse: !level.full(op) }));
    served = { list, byName, known, detail: level.name, tokens: tokensOf({ tools: list }) };
    if (served.tokens <= budgetTokens) break;
  }
  return served!;
};

/** The tools `VESPERA_MCP_TOOLS` selects, within that selection's token budget. */
export const servedTools = (operations: readonly AnyOperation[], selection: string, logger?: Logger): McpTools =>
  mcpTools(selectTools(operations, selection, logger), budgetOf(selection), new Set(operations.map((op) => op.tool)));
