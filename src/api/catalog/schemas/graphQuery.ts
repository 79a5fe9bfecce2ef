import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the graph questions (`../graphQuery.ts`). */

export const MAX_GRAPH_ROWS = 1_000;

const scalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

export const graphQuery = {
  input: z.strictObject({
    cypher: z.string().min(1).max(20_000).describe('One read-only Cypher statement; pass values as $parameters, never inside the text'),
    params: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([scalar, z.array(scalar).max(1_000)]))
      .meta({ maxProperties: 50 })
      .optional()
      .describe('Values of the $parameters'),
    limit: z.int().min(1).max(MAX_GRAPH_ROWS).default(MAX_GRAPH_ROWS).describe('Rows to return at most'),
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
