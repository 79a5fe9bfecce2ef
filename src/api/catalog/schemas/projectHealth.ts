import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of a project's health and recommendations (`../projectHealth.ts`). */

const str = z.string();
const num = z.number();
const page = <T extends z.ZodType>(item: T) => ({ count: z.int().describe('All findings; `items` holds the first ten'), items: z.array(item) });

export const getProjectHealth = {
  input: z.strictObject({
    projectId: c.projectId,
    staleAfterMinutes: z.int().min(1).max(10_080).optional().describe('A live claim with no event for this long is stale (30 when omitted)'),
  }),
  output: z.object({
    projectId: str,
    at: str,
    staleClaims: z.object({
      staleAfterMinutes: z.int(),
      ...page(z.object({ taskId: str, title: str, agent: str, role: str.nullable(), lastActivityAt: str, idleMinutes: num, leaseExpiresAt: str })),
    }),
    expiredLeases: z.object(page(z.object({ taskId: str, title: str, agent: str, role: str.nullable(), leaseExpiresAt: str, overdueMinutes: num }))),
    blockedChains: z.object(
      page(
        z.object({
          taskId: str,
          title: str,
          status: str,
          blockedSince: str,
          blockedHours: num,
          waitingOn: z.array(str).describe('Its open hard dependencies'),
          chainLength: z.int().describe('Open tasks in the longest chain above it'),
          rootBlockers: z.array(str).describe('Open tasks at the top of its chains: what to finish first'),
        }),
      ),
    ),
    criticalWithoutEstimate: z.object(page(z.object({ taskId: str, title: str, assumedHours: num }))),
    slackUsed: z.object({
      since: str,
      sincePosition: z.int(),
      ...page(z.object({ taskId: str, title: str, slackBefore: num, slackNow: num, used: num })),
    }),
  }),
};

export const getRecommendations = {
  input: z.strictObject({
    projectId: c.projectId,
    role: z.string().min(1).max(64).optional().describe("Only this role's tasks and those without a role"),
    limit: z.int().min(1).max(100).optional().describe('Recommendations at most (10 when omitted)'),
  }),
  output: z.object({
    projectId: str,
    role: str.nullable(),
    items: z.array(
      z.object({
        action: z.enum(['start', 'unblock', 'estimate']),
        taskId: str,
        title: str,
        role: str.nullable().describe('null: any role may take it'),
        status: str,
        priority: str,
        reason: str.describe('Why, in one sentence'),
        score: num,
      }),
    ),
  }),
};
