import type { ImportResult } from '../../commands/project/commands.js';
import { getProjectSnapshot } from '../../queries/projectSnapshot.js';
import { readBeads, writeBeads } from '../interchange/beads.js';
import { requireAcyclic, settleMissing, statusCounts, type SourceProject } from '../interchange/source.js';
import { readTaskmaster, writeTaskmaster } from '../interchange/taskmaster.js';
import * as schemas from './schemas/interchange.js';
import { defineOperation, requestMeta, type AnyOperation, type OperationContext } from './operation.js';
import type { CatalogDeps } from './deps.js';
import type { z } from 'zod';

/** A 10,000-task file with its details fits several times over; every other route keeps the server's body limit. */
export const IMPORT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
const SKIPPED_SHOWN = 200;

type Report = z.input<typeof schemas.importTaskmaster.output>;
type ProjectReport = Report['projects'][number];

/** What one project's decision did (or would do), counted from its events. */
const projectReport = (project: SourceProject, result: ImportResult, dryRun: boolean): ProjectReport => {
  const created = new Set<string>();
  const changed = new Set<string>();
  let dependencies = 0;
  let links = 0;
  let statusChanges = 0;
  let projectCreated = false;
  for (const { type, data } of result.events) {
    const taskId = (data as { taskId?: string }).taskId;
    if (type === 'ProjectCreated') projectCreated = true;
    else if (type === 'TaskCreated') created.add(taskId!);
    else if (type === 'DependencyAdded') dependencies += 1;
    else if (type === 'TaskLinked') links += 1;
    else if (type === 'TaskStatusChanged') statusChanges += 1;
    if ((type === 'TaskUpdated' || type === 'TaskStatusChanged') && !created.has(taskId!)) changed.add(taskId!);
  }
  return {
    projectId: project.projectId,
    ...(project.tag === undefined ? {} : { tag: project.tag }),
    projectCreated,
    tasks: {
      inFile: project.items.length,
      created: created.size,
      updated: changed.size,
      unchanged: project.items.length - created.size - changed.size,
    },
    dependencies: { inFile: project.dependencies.length, added: dependencies },
    links: { inFile: project.links.length, added: links },
    statusChanges,
    statuses: statusCounts(project.items),
    skipped: project.skipped.slice(0, SKIPPED_SHOWN),
    skippedCount: project.skipped.length,
    position: dryRun || result.events.length === 0 ? null : result.position,
  };
};

/** Tag of a Taskmaster export: the one the project's tasks came from, else the project's id. */
const sourceTag = (metadata: ReadonlyArray<Record<string, unknown>>, fallback: string): string => {
  for (const m of metadata) {
    const source = m.source as { system?: unknown; tag?: unknown } | undefined;
    if (source?.system === 'taskmaster' && typeof source.tag === 'string') return source.tag;
  }
  return fallback;
};

export const interchangeOperations = ({ commands, readDb, waitForReadModel }: CatalogDeps): AnyOperation[] => {
  /** Every project checked before any is written; then one decision and one append per project. */
  const importAll = async (
    system: Report['system'],
    projects: SourceProject[],
    options: { dryRun: boolean; skipMissing: boolean },
    ctx: OperationContext,
  ): Promise<{ body: Report; position?: number }> => {
    settleMissing(projects, options.skipMissing);
    requireAcyclic(projects);
    const reports: ProjectReport[] = [];
    let position: number | null = null;
    for (const [i, project] of projects.entries()) {
      const { missing: _missing, skipped: _skipped, tag: _tag, items, ...plan } = project;
      const meta = requestMeta({ ...ctx, commandId: i === 0 ? ctx.commandId : `${ctx.commandId}:${i}` });
      const result = await commands.importTasks({ ...plan, items: items.map(({ sourceStatus: _status, ...item }) => item) }, meta, options.dryRun);
      const report = projectReport(project, result, options.dryRun);
      if (report.position !== null) position = report.position;
      reports.push(report);
    }
    if (position !== null) await waitForReadModel(position);
    return { body: { system, dryRun: options.dryRun, projects: reports, position }, ...(position === null ? {} : { position }) };
  };

  return [
    defineOperation({
      name: 'importTaskmaster',
      tool: 'import_taskmaster',
      summary: 'Import a Taskmaster tasks.json, a project per tag; again changes nothing.',
      method: 'post',
      path: '/import/taskmaster',
      capability: 'task_creation',
      kind: 'command',
      bodyLimitBytes: IMPORT_BODY_LIMIT_BYTES,
      ...schemas.importTaskmaster,
      run: async ({ content, tag, projectId, dryRun, skipMissing }, ctx) =>
        importAll('taskmaster', readTaskmaster(content, { tag, projectId }), { dryRun, skipMissing }, ctx),
    }),

    defineOperation({
      name: 'importBeads',
      tool: 'import_beads',
      summary: 'Import a Beads issues.jsonl into a project; again changes nothing.',
      method: 'post',
      path: '/import/beads',
      capability: 'task_creation',
      kind: 'command',
      bodyLimitBytes: IMPORT_BODY_LIMIT_BYTES,
      ...schemas.importBeads,
      run: async ({ content, projectId, dryRun, skipMissing }, ctx) =>
        importAll('beads', [readBeads(content, { projectId })], { dryRun, skipMissing }, ctx),
    }),

    defineOperation({
      name: 'exportProject',
      tool: 'export_project',
      summary: 'A project as a Taskmaster tasks.json or Beads issues.jsonl file.',
      method: 'get',
      path: '/projects/:projectId/export',
      capability: 'task_reading',
      kind: 'query',
      documents: ['application/json', 'application/x-ndjson'],
      download: true,
      ...schemas.exportProject,
      run: async ({ projectId, format, tag }) => {
        const snapshot = getProjectSnapshot(readDb, projectId);
        const tasks = snapshot.tasks.length;
        const file =
          format === 'beads'
            ? { filename: 'issues.jsonl', contentType: 'application/x-ndjson', content: writeBeads(snapshot) }
            : {
                filename: 'tasks.json',
                contentType: 'application/json',
                content: `${JSON.stringify(
                  writeTaskmaster(
                    snapshot,
                    tag ??
                      sourceTag(
                        snapshot.tasks.map((t) => t.metadata),
                        projectId,
                      ),
                  ),
                  null,
                  2,
                )}\n`,
              };
        // REST sends the file itself, named; MCP the summary line, with the file's text in the structured answer.
        return {
          body: { projectId, format, tasks, ...file },
          document: { contentType: file.contentType, text: file.content, filename: file.filename },
        };
      },
    }),
  ];
};
