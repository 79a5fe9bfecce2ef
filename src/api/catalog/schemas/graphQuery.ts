import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the graph questions (`../graphQuery.ts`). */

export const MAX_GRAPH_ROWS = 1_000;

export const graphQuery = {
  input: z.strictObject({
    cypher: z.string().min(1).max(20_000).describe('One read-only Cypher statement; pass values as $parameters, never inside the text'),
    params: z.record(z.string(), z.unknown()).optional().describe('Values of the $parameters (strings, numbers, booleans, null or lists of them)'),
    limit: z.int().min(1).max(MAX_GRAPH_ROWS).optional().describe('Rows to return at most (1,000 when omitted)'),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    columns: z.array(z.string()),
    rows: z.array(z.record(z.string(), z.unknown())).describe('One object per row, keyed by column'),
    count: z.int(),
    truncated: z.boolean().describe('More rows matched than `limit`'),
    position: z.int().describe('Log position the graph model had applied'),
  }),
};
