import { z } from 'zod';
import { adminJob } from './admin.js';

/** Input and output of `POST /admin/rebuild` (`../adminRebuild.ts`). */

export const READ_MODELS = ['sqlite', 'graph', 'vectors', 'all'] as const;
export type ReadModelChoice = (typeof READ_MODELS)[number];

export const rebuild = {
  input: z.strictObject({
    model: z.enum(READ_MODELS).default('sqlite').describe('Read model to rebuild'),
  }),
  output: adminJob,
};
