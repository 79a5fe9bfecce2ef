import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the background-service operations (`../services.ts`). */

const serviceStatus = z.object({
  name: z.string(),
  description: z.string().optional(),
  state: z.enum(['running', 'stopped', 'external']),
  runs: z.int(),
  lastRunAt: z.string().nullable(),
  lastError: z.string().nullable(),
  details: c.anyObject.optional(),
});

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z_]+$/)
  .describe('Service name (see GET /services)');

export const listServices = { input: z.strictObject({}), output: z.object({ items: z.array(serviceStatus) }) };

export const controlService = {
  input: z.strictObject({ name, action: z.enum(['start', 'stop', 'restart']).describe('What to do') }),
  output: serviceStatus,
};
