import { z } from 'zod';
import { adminJob } from './admin.js';

/** Input and output schemas of `GET /admin/verify` (`../adminVerify.ts`). */

export const VERIFY_MODELS = ['sqlite', 'graph', 'vectors', 'all'] as const;

export const verify = {
  input: z.strictObject({
    model: z
      .enum(VERIFY_MODELS)
      .default('all')
      .describe('Which read model to verify: sqlite, graph, vectors (when on), or all of them (the default)'),
  }),
  output: adminJob,
};
