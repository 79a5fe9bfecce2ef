import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of import and export (`../interchange.ts`). */

/** Characters of a file's text; the REST body limit of these routes (32 MiB) bounds it first. */
const FILE_TEXT_MAX = 32 * 1024 * 1024;

const options = {
  projectId: c.projectId.optional().describe('Target project (default: per tag, or the id prefix)'),
  dryRun: z.boolean().default(false).describe('Report only, write nothing'),
  skipMissing: z.boolean().default(false).describe('Leave out references to missing ids instead of refusing'),
};

const count = z.int().min(0);
const projectReport = z.object({
  projectId: z.string(),
  tag: z.string().optional(),
  projectCreated: z.boolean(),
  tasks: z.object({ inFile: count, created: count, updated: count, unchanged: count }),
  dependencies: z.object({ inFile: count, added: count }),
  links: z.object({ inFile: count, added: count }),
  statusChanges: count,
  statuses: z.array(z.object({ from: z.string(), to: c.status, count })),
  skipped: z
    .array(z.object({ kind: z.enum(['task', 'dependency', 'link', 'line', 'field']), id: z.string(), reason: z.string() }))
    .describe('What was left out or changed to fit (first 200)'),
  skippedCount: count,
  position: z.int().nullable().describe('null: dry run or nothing written'),
});

const report = z.object({
  system: z.enum(['taskmaster', 'beads']),
  dryRun: z.boolean(),
  projects: z.array(projectReport),
  position: z.int().nullable(),
});

export const importTaskmaster = {
  input: z.strictObject({
    content: z.union([z.string().max(FILE_TEXT_MAX), c.anyObject]).describe('The tasks.json, as text or parsed'),
    tag: z.string().min(1).max(200).optional().describe('Import only this tag'),
    ...options,
  }),
  output: report,
};

export const importBeads = {
  input: z.strictObject({
    content: z.string().max(FILE_TEXT_MAX).describe('The issues.jsonl text'),
    ...options,
  }),
  output: report,
};

export const EXPORT_FORMATS = ['taskmaster', 'beads'] as const;

export const exportProject = {
  input: z.strictObject({
    projectId: c.projectId,
    format: z.enum(EXPORT_FORMATS).describe('`taskmaster` (tasks.json) or `beads` (issues.jsonl)'),
    tag: z.string().min(1).max(200).optional().describe('Taskmaster tag to write (default: the source tag)'),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    projectId: z.string(),
    format: z.enum(EXPORT_FORMATS),
    filename: z.string(),
    contentType: z.string(),
    tasks: count,
    content: z.string().describe('The file (REST: the body itself)'),
  }),
};
