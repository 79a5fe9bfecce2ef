import { z } from 'zod';
import * as c from './common.js';

/** Input and output schemas of import and export (`../interchange.ts`). */

/** Characters of a file's text; the REST body limit of these routes (32 MiB) bounds it first. */
const FILE_TEXT_MAX = 32 * 1024 * 1024;

const options = {
  projectId: c.projectId
    .optional()
    .describe('Import into this project (created when missing); default: one project per tag (Taskmaster) or the id prefix (Beads)'),
  dryRun: z.boolean().default(false).describe('Report what the import would do, and write nothing'),
  skipMissing: z.boolean().default(false).describe('Leave out references to ids the file does not hold, instead of refusing the file'),
};

const count = z.int().min(0);
const projectReport = z.object({
  projectId: z.string(),
  tag: z.string().optional().describe('The Taskmaster tag the project came from'),
  projectCreated: z.boolean().describe('The import creates the project'),
  tasks: z.object({ inFile: count, created: count, updated: count, unchanged: count }),
  dependencies: z.object({ inFile: count, added: count }),
  links: z.object({ inFile: count, added: count }),
  statusChanges: count.describe('Tasks whose status the import sets (new tasks not pending, and changed ones)'),
  statuses: z.array(z.object({ from: z.string(), to: c.status, count })).describe('How the source statuses were mapped'),
  skipped: z
    .array(z.object({ kind: z.enum(['task', 'dependency', 'link', 'line', 'field']), id: z.string(), reason: z.string() }))
    .describe('What the import left out or changed to fit (at most 200 listed)'),
  skippedCount: count,
  position: z.int().nullable().describe('Log position of the project’s append (null: dry run, or nothing to write)'),
});

const report = z.object({
  system: z.enum(['taskmaster', 'beads']),
  dryRun: z.boolean(),
  projects: z.array(projectReport),
  position: z.int().nullable(),
});

export const importTaskmaster = {
  input: z.strictObject({
    content: z
      .union([z.string().max(FILE_TEXT_MAX), c.anyObject])
      .describe('The tasks.json: its text, or the parsed object ({<tag>: {tasks, metadata}}, or {tasks} of older files)'),
    tag: z.string().min(1).max(200).optional().describe('Import only this tag'),
    ...options,
  }),
  output: report,
};

export const importBeads = {
  input: z.strictObject({
    content: z.string().max(FILE_TEXT_MAX).describe('The issues.jsonl text: one JSON issue per line'),
    ...options,
  }),
  output: report,
};

export const EXPORT_FORMATS = ['taskmaster', 'beads'] as const;

export const exportProject = {
  input: z.strictObject({
    projectId: c.projectId,
    format: z.enum(EXPORT_FORMATS).describe('`taskmaster` (tasks.json) or `beads` (issues.jsonl)'),
    tag: z.string().min(1).max(200).optional().describe('Taskmaster tag to write (default: the tag the tasks came from, else the project id)'),
    minPosition: c.minPosition.optional(),
  }),
  output: z.object({
    projectId: z.string(),
    format: z.enum(EXPORT_FORMATS),
    filename: z.string(),
    contentType: z.string(),
    tasks: count,
    content: z.string().describe('The file: REST answers with it as the body, MCP in this field'),
  }),
};
