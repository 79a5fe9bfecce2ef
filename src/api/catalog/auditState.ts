import { auditState, cloneFold } from '../../queries/audit/asOf.js';
import type { AuditLog } from '../../queries/audit/log.js';
import { FoldSnapshots } from '../../queries/audit/snapshots.js';
import type { ProjectCommands } from '../../commands/project/commands.js';
import * as schemas from './schemas/auditState.js';
import { defineOperation, requestMeta, type AnyOperation } from './operation.js';

export type AuditStateCatalogDeps = Readonly<{
  /** The event store: state as of a point is folded from the log, never from a read model. */
  store: AuditLog;
  commands: ProjectCommands;
  waitForReadModel: (position: number) => Promise<void>;
}>;

const taskIdOf = (data: unknown): string | null => {
  const id = (data as { taskId?: unknown }).taskId;
  return typeof id === 'string' ? id : null;
};

/** State of a task or project as of any point of the log, what changed between two points, and undo of a request. */
export const auditStateOperations = ({ store, commands, waitForReadModel }: AuditStateCatalogDeps): AnyOperation[] => {
  const audit = auditState(store, new FoldSnapshots({ clone: cloneFold }));
  return [
    defineOperation({
      name: 'getTaskAsOf',
      tool: 'get_task_as_of',
      summary: 'A task as of a log position or time (`at`; omitted: now), folded from the event log.',
      description:
        'Never reads the live read model. The answer says which position it reflects; a task that did not exist then is 404 TASK_NOT_FOUND (saying whether it came later or was deleted before); a position past the head is 400 POSITION_NOT_REACHED.',
      method: 'get',
      path: '/audit/tasks/:id',
      capability: 'audit_reading',
      kind: 'query',
      ...schemas.getTaskAsOf,
      run: async ({ id, at }) => ({ body: await audit.getTaskAsOf(id, at) }),
    }),

    defineOperation({
      name: 'getProjectAsOf',
      tool: 'get_project_as_of',
      summary: "A project's summary and tasks as of a log position or time, paginated.",
      method: 'get',
      path: '/audit/projects/:projectId',
      capability: 'audit_reading',
      kind: 'query',
      ...schemas.getProjectAsOf,
      run: async ({ projectId, at, limit, cursor }) => ({ body: await audit.getProjectAsOf(projectId, at, { limit, cursor }) }),
    }),

    defineOperation({
      name: 'diffProject',
      tool: 'diff_project',
      summary: 'What changed in a project between two points, task by task: fields before/after, dependencies.',
      method: 'get',
      path: '/audit/diff',
      capability: 'audit_reading',
      kind: 'query',
      ...schemas.diffProject,
      run: async ({ projectId, from, to, limit, cursor }) => ({ body: await audit.diffProject(projectId, from, to, { limit, cursor }) }),
    }),

    defineOperation({
      name: 'undoRequest',
      tool: 'undo_request',
      summary: 'Undo one request with compensating events (history is never edited).',
      description:
        'Refused with 409 UNDO_CONFLICT naming the later events when something after the request touched the same tasks, and with 422 for claims, leases, completions and changes outside project tasks. `dryRun` answers the events it would append.',
      method: 'post',
      path: '/audit/undo',
      capability: 'audit_admin',
      kind: 'command',
      ...schemas.undoRequest,
      run: async ({ correlationId, dryRun }, ctx) => {
        const result = await commands.undoRequest(correlationId, dryRun, requestMeta(ctx));
        if (!dryRun) await waitForReadModel(result.position);
        const body = {
          correlationId,
          projectId: result.projectId,
          dryRun,
          undone: result.undone.map((e) => ({ position: e.position, type: e.type, taskId: taskIdOf(e.data) })),
          events: result.events.map((e) => ({ type: e.type, taskId: taskIdOf(e.data), data: e.data as Record<string, unknown> })),
          position: result.position,
        };
        return dryRun ? { body } : { body, position: result.position };
      },
    }),
  ];
};
