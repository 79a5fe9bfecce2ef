import { z } from 'zod';
import { MAX_SLIP_HOURS } from '../../../queries/analytics/analytics.js';
import * as c from './common.js';

/** Input and output schemas of the dependency analytics (`../analytics.ts`). */

const int = z.int();
const num = z.number();
const str = z.string();
const ids = z.array(str);
const limitOf = (max: number, fallback: number) => z.int().min(1).max(max).default(fallback).describe('How many rows to return');

const related = z.object({ id: str, distance: int, kind: c.kind, status: str });
const side = z.object({ direct: int, transitive: int, items: z.array(related), truncated: z.boolean() });

export const analyzeTaskDependencies = {
  input: z.strictObject({
    id: c.id,
    depth: z.int().min(1).max(100).default(10).describe('Links to follow at most'),
    limit: limitOf(200, 50),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    taskId: str,
    status: str,
    ready: z.boolean(),
    openHardDependencies: ids,
    dependencies: side,
    dependents: side,
    longestChainAbove: z.object({ tasks: ids, hours: num }),
  }),
};

export const getCriticalPath = {
  input: z.strictObject({ projectId: c.projectId, rootTaskId: c.id.optional(), limit: limitOf(200, 20), minPosition: c.minPosition.optional() }),
  output: z.object({
    projectId: str,
    rootTaskId: z.string().nullable(),
    duration: num,
    tasks: int,
    openTasks: int,
    criticalTasks: int,
    criticalChains: z.array(ids).max(10),
    missingEstimates: z.object({ count: int, defaultEstimate: num, sample: ids }),
    timings: z.array(
      z.object({ id: str, es: num, ef: num, ls: num, lf: num, slack: num, hours: num, estimated: z.boolean(), critical: z.boolean() }),
    ),
  }),
};

export const getTaskImpact = {
  input: z.strictObject({
    id: c.id,
    hours: z.number().gt(0).max(MAX_SLIP_HOURS).describe('Extra hours (more than 0, at most 10,000)'),
    limit: limitOf(200, 20),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    taskId: str,
    hours: num,
    absorbed: num,
    durationBefore: num,
    durationAfter: num,
    projectEndMoves: z.boolean(),
    moved: z.array(z.object({ id: str, shift: num, slackBefore: num })),
    movedCount: int,
  }),
};

export const findBottlenecks = {
  input: z.strictObject({ projectId: c.projectId, limit: limitOf(100, 10), minPosition: c.minPosition.optional() }),
  output: z.object({
    projectId: str,
    openTasks: int,
    items: z.array(z.object({ id: str, status: str, priority: str, waiting: int, score: num })),
  }),
};

export const findDependencyPath = {
  input: z.strictObject({ id: c.id, to: c.id, minPosition: c.minPosition.optional() }),
  output: z.object({ from: str, to: str, direction: z.enum(['dependsOn', 'dependedOnBy', 'none']), path: ids, hops: int }),
};
