import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of claims, leases and completion (`../orchestration.ts`). */

const agent = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/)
  .describe('Default: your plugin id');
const leaseSeconds = z.int().min(10).max(86_400).default(900).describe('Lease length in seconds');
const roleName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,63}$/)
  .describe('Role the agent acts as');
const paths = z.array(z.string().min(1).max(1024)).max(1000);

/** What the agent spent since its last report (summed into the project's usage totals). */
export const usage = z
  .strictObject({
    inputTokens: z.int().min(0).max(1e12).optional().describe('Input (prompt) tokens'),
    outputTokens: z.int().min(0).max(1e12).optional().describe('Output (completion) tokens'),
    costUsd: z.number().min(0).max(1e9).optional().describe('Cost in US dollars'),
    model: z.string().min(1).max(128).optional().describe('Model that did the work'),
  })
  .describe('Usage since the last report: tokens, cost, model');

const fileConflict = z.object({
  taskId: z.string(),
  files: z.array(z.string()),
  holder: z.string().describe('Agent holding the files'),
  holderTaskId: z.string().nullable().describe('The task whose claim holds them (null: an advisory mark)'),
  leaseExpiresAt: z.string().nullable().describe('Until when (null: as long as the holder keeps a lease)'),
});

const claimed = z.object({
  claimed: z.boolean(),
  task: z.xor([c.taskView, z.null()]),
  position: z.int().optional(),
  skipped: z.array(fileConflict).describe('Better-ranked tasks passed over because another agent holds their files').optional(),
});

export const claimNextTask = {
  input: z.strictObject({ role: roleName, agent: agent.optional(), leaseSeconds, projectId: c.projectId.optional() }),
  output: claimed,
};

export const claimTask = {
  input: z.strictObject({
    id: c.id,
    agent: agent.optional(),
    leaseSeconds,
    role: roleName.optional(),
    force: z.boolean().default(false).describe('Claim even though another agent holds some of its files (recorded in the event)'),
  }),
  output: claimed,
};

const markedFiles = z.array(z.string().min(1).max(1024)).min(1).max(200).describe('Paths or globs (the task `files` dialect)');

export const markFiles = {
  input: z.strictObject({
    projectId: c.projectId,
    agent: agent.optional(),
    files: markedFiles,
    ttlSeconds: z.int().min(10).max(86_400).describe('How long the mark lasts (default: as long as the agent holds a lease here)').optional(),
  }),
  output: z.object({ projectId: z.string(), agent: z.string(), files: z.array(z.string()), overlaps: z.array(fileConflict), position: z.int() }),
};

export const unmarkFiles = {
  input: z.strictObject({
    projectId: c.projectId,
    agent: agent.optional(),
    files: markedFiles.describe('Marks to remove (default: all of the agent’s)').optional(),
  }),
  output: z.object({ projectId: z.string(), agent: z.string(), removed: z.boolean(), position: z.int().optional() }),
};

export const listFileMarks = {
  input: z.strictObject({ projectId: c.projectId }),
  output: z.object({
    items: z.array(z.object({ holder: z.string(), taskId: z.string().nullable(), files: z.array(z.string()), until: z.string().nullable() })),
  }),
};

export const heartbeatTask = {
  input: z.strictObject({
    id: c.id,
    agent: agent.optional(),
    leaseSeconds,
    usage: usage.optional(),
    note: z.string().max(280).describe('Your status note, shown on the task and in the live feed until the claim ends ("" clears it)').optional(),
  }),
  output: z.object({ taskId: z.string(), leaseExpiresAt: z.string(), position: z.int() }),
};

export const releaseTask = {
  input: z.strictObject({
    id: c.id,
    agent: agent.optional(),
    reason: z.string().max(2000).describe('Why, kept in the history').optional(),
    force: z.boolean().default(false).describe('Break the lease whoever holds it (needs `admin`; recorded in the event)'),
  }),
  output: c.taskView,
};

export const completeTask = {
  input: z.strictObject({
    id: c.id,
    agent: agent.optional(),
    output: z.string().max(100_000).describe('What was done (Markdown)').optional(),
    artifacts: paths.describe('Paths or URLs produced').optional(),
    changedFiles: paths.describe('Checked against the role’s patterns').optional(),
    usage: usage.optional(),
  }),
  output: z.object({ task: c.taskView, unblocked: z.array(z.string()), warnings: z.array(z.string()), position: z.int() }),
};

export const executeTask = {
  input: z.strictObject({
    id: c.id,
    dryRun: z.boolean().default(true).describe('Only read (default); false also claims the task'),
    agent: agent.optional(),
    leaseSeconds,
  }),
  output: z.object({
    task: c.taskView,
    role: c.anyObject.nullable(),
    dependencies: z.array(z.unknown()),
    parent: z.object({ id: z.string(), title: z.string(), description: z.string().optional(), status: c.status }).nullable(),
    claimed: z.boolean(),
    instructions: z.string().optional(),
  }),
};
