import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of the administrative operations (`../admin.ts`): jobs, verify, rebuild. */

export const adminJob = z.object({
  id: z.string(),
  kind: z.enum(['verify', 'rebuild']),
  state: z.enum(['running', 'succeeded', 'failed']),
  request: c.anyObject,
  startedBy: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: z.object({
    eventsDone: z.int(),
    eventsTotal: z.int(),
    eventsPerSecond: z.int(),
    etaSeconds: z.int().nullable(),
    phase: z.string(),
  }),
  result: c.anyObject.nullable(),
  error: z.string().nullable(),
});

export const jobId = z.uuid().describe('Job id, as the operation that started it answered');

export const listJobs = { input: z.strictObject({}), output: z.object({ items: z.array(adminJob) }) };
export const getJob = { input: z.strictObject({ id: jobId }), output: adminJob };
