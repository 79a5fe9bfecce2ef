import type Database from 'better-sqlite3';
import type { ProjectCommands } from '../../commands/project/commands.js';
import type { RoleCommands } from '../../commands/roles/commands.js';
import { DomainError, badRequest } from '../../errors.js';
import type { FileConflict } from '../../events/project.js';
import { getTask, getTaskRow, readyAmong, type TaskView } from '../../queries/tasks.js';
import { getDependencies, hardDependentIds } from '../../queries/taskGraph.js';
import * as schemas from './schemas/orchestration.js';
import { defineOperation, requestMeta, type AnyOperation, type OperationContext } from './operation.js';
import { taskAnswerer } from './taskAnswer.js';

export type OrchestrationDeps = Readonly<{
  commands: ProjectCommands;
  roles: RoleCommands;
  readDb: Database.Database;
  waitForReadModel: (position: number) => Promise<void>;
  /** Told of every lease so it can be expired on time (a timer or a BullMQ delayed job). */
  leases: { schedule: (taskId: string, leaseExpiresAt: string) => void };
}>;

const requireAdmin = (ctx: OperationContext, what: string): void => {
  if (ctx.caller?.capabilities.includes('admin')) return;
  throw new DomainError(
    'MISSING_CAPABILITY',
    403,
    `${what} needs the \`admin\` capability, which the token does not carry.`,
    {
      required: 'admin',
      granted: ctx.caller?.capabilities ?? [],
    },
    'Ask the lease holder to release the task, or wait for its lease to expire.',
  );
};

/** Claims, leases and completion: how agents take work, keep it and hand it back. */
export const orchestrationOperations = ({ commands, roles, readDb, waitForReadModel, leases }: OrchestrationDeps): AnyOperation[] => {
  const taskAnswer = taskAnswerer({ readDb, waitForReadModel, leases });
  const settled = async (position: number) => {
    await waitForReadModel(position);
    return position;
  };

  return [
    defineOperation({
      name: 'claimNextTask',
      tool: 'claim_next_task',
      summary:
        'Claim the best ready task for a role (priority, then least slack, then oldest) with a lease, skipping tasks whose files another agent holds.',
      method: 'post',
      path: '/tasks/claim-next',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.claimNextTask,
      run: async (input, ctx) => {
        const result = await commands.claimNextTask(
          input.role,
          input.agent ?? ctx.actor,
          input.leaseSeconds ?? 900,
          input.projectId,
          requestMeta(ctx),
        );
        const skipped = result.skipped.length > 0 ? { skipped: result.skipped } : {};
        if (result.taskId === undefined) return { body: { claimed: false, task: null, ...skipped } };
        const { body: task } = await taskAnswer(result.taskId, result.position);
        return { body: { claimed: true, task, position: result.position, ...skipped }, position: result.position, version: task.version };
      },
    }),

    defineOperation({
      name: 'claimTask',
      tool: 'claim_task',
      summary: 'Claim one ready task with a lease; refused while another agent holds it or its files (unless `force`).',
      method: 'post',
      path: '/tasks/:id/claim',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.claimTask,
      run: async (input, ctx) => {
        const result = await commands.claimTask(
          input.id,
          input.agent ?? ctx.actor,
          input.leaseSeconds ?? 900,
          input.role,
          requestMeta(ctx),
          input.force ?? false,
        );
        const { body: task } = await taskAnswer(input.id, result.position);
        return { body: { claimed: true, task, position: result.position }, position: result.position, version: task.version };
      },
    }),

    defineOperation({
      name: 'markFiles',
      tool: 'mark_files',
      summary:
        'Mark files you are editing beyond your task’s list, so other agents’ claims steer clear (advisory; until ttlSeconds, or with your lease).',
      method: 'post',
      path: '/projects/:projectId/file-marks',
      capability: 'task_modification',
      kind: 'command',
      ...schemas.markFiles,
      run: async (input, ctx) => {
        const agent = input.agent ?? ctx.actor;
        const result = await commands.markFiles(input.projectId, agent, input.files, input.ttlSeconds, requestMeta(ctx));
        const marked = result.events.find((e) => e.type === 'FilesMarked')?.data as { files: string[]; overlaps: FileConflict[] } | undefined;
        const position = await settled(result.position);
        return {
          body: { projectId: input.projectId, agent, files: marked?.files ?? input.files, overlaps: marked?.overlaps ?? [], position },
          position,
        };
      },
    }),

    defineOperation({
      name: 'unmarkFiles',
      tool: 'unmark_files',
      summary: 'Remove your file marks (some, or all of them).',
      method: 'post',
      path: '/projects/:projectId/file-marks/remove',
      capability: 'task_modification',
      kind: 'command',
      ...schemas.unmarkFiles,
      run: async (input, ctx) => {
        const agent = input.agent ?? ctx.actor;
        const result = await commands.unmarkFiles(input.projectId, agent, input.files ?? [], requestMeta(ctx));
        const position = await settled(result.position);
        return { body: { projectId: input.projectId, agent, removed: result.events.length > 0, position }, position };
      },
    }),

    defineOperation({
      name: 'listFileMarks',
      tool: 'list_file_marks',
      summary: 'Files held in a project now: by live claims (with their task) and by advisory marks, with holder and end.',
      method: 'get',
      path: '/projects/:projectId/file-marks',
      capability: 'task_reading',
      kind: 'query',
      ...schemas.listFileMarks,
      run: async (input) => ({ body: { items: await commands.fileHolds(input.projectId) } }),
    }),

    defineOperation({
      name: 'heartbeatTask',
      tool: 'heartbeat_task',
      summary: 'Extend your lease on a claimed task.',
      method: 'post',
      path: '/tasks/:id/heartbeat',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.heartbeatTask,
      run: async (input, ctx) => {
        const result = await commands.heartbeat(
          input.id,
          input.agent ?? ctx.actor,
          input.leaseSeconds ?? 900,
          requestMeta(ctx),
          input.usage,
          input.note,
        );
        const { body: task } = await taskAnswer(input.id, result.position);
        return {
          body: { taskId: task.id, leaseExpiresAt: task.leaseExpiresAt!, position: result.position },
          position: result.position,
          version: task.version,
        };
      },
    }),

    defineOperation({
      name: 'releaseTask',
      tool: 'release_task',
      summary: 'Give a claimed task back to the ready queue; an administrator may break another agent’s lease with force.',
      method: 'post',
      path: '/tasks/:id/release',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.releaseTask,
      run: async (input, ctx) => {
        if (input.force) requireAdmin(ctx, 'Breaking another agent’s lease');
        const result = await commands.releaseTask(input.id, input.agent ?? ctx.actor, input.reason, requestMeta(ctx), input.force ?? false);
        return taskAnswer(input.id, result.position);
      },
    }),

    defineOperation({
      name: 'completeTask',
      tool: 'complete_task',
      summary: "Complete your claimed task with its output; changed files are checked against the role's patterns.",
      method: 'post',
      path: '/tasks/:id/complete',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.completeTask,
      run: async (input, ctx) => {
        const before = getTaskRow(readDb, input.id);
        const dependents = hardDependentIds(readDb, input.id);
        const report = {
          output: input.output ?? '',
          artifacts: input.artifacts ?? [],
          changedFiles: input.changedFiles ?? [],
          ...(input.usage ? { usage: input.usage } : {}),
        };
        const result = await commands.completeTask(input.id, input.agent ?? ctx.actor, report, before.role, requestMeta(ctx));
        const { body: task } = await taskAnswer(input.id, result.position);
        // Dependents whose last hard dependency this was, and the parent whose last open child it was.
        const unblocked = readyAmong(readDb, [...dependents, ...(before.parent_id ? [before.parent_id] : [])]);
        return {
          body: { task, unblocked, warnings: task.result?.warnings ?? [], position: result.position },
          position: result.position,
          version: task.version,
        };
      },
    }),

    defineOperation({
      name: 'executeTask',
      tool: 'execute_task',
      summary:
        'The brief an agent needs to do a task: the task, its role and limits, dependency outputs, parent context. Without dryRun it also claims the task.',
      method: 'post',
      path: '/tasks/:id/execute',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      ...schemas.executeTask,
      run: async (input, ctx) => {
        let task: TaskView = getTask(readDb, input.id);
        let claimed = false;
        let position: number | undefined;
        const agentId = input.agent ?? ctx.actor;
        // Claiming again is a no-op for the holder and refused for anyone else (another plugin may use the same agent label).
        if (input.dryRun === false) {
          if (!task.ready && task.claimedBy !== agentId)
            throw badRequest(
              'TASK_NOT_READY',
              `Task ${task.id} is ${task.status}${task.openDependencies ? ` and waits on ${task.openDependencies} dependencies` : ''}.`,
              { taskId: task.id },
            );
          const result = await commands.claimTask(task.id, agentId, input.leaseSeconds ?? 900, task.role ?? undefined, requestMeta(ctx));
          position = result.position;
          task = (await taskAnswer(task.id, result.position)).body;
          claimed = true;
        }
        const role = task.role ? ((await roles.definition(task.role)) ?? null) : null;
        const dependencies = getDependencies(readDb, task.id, { direction: 'dependencies' }).items.map((d) => {
          const dep = getTask(readDb, d.id);
          return {
            id: d.id,
            title: d.title,
            kind: d.kind,
            status: d.status,
            output: dep.result?.output ?? null,
            artifacts: dep.result?.artifacts ?? [],
          };
        });
        const parent = task.parentId ? getTask(readDb, task.parentId) : null;
        const instructions = [
          `Work on "${task.title}".`,
          role
            ? `Act as ${role.name}: capabilities ${role.capabilities.join(', ')}; change only files matching ${role.filePatterns.join(', ')}.`
            : 'No role is assigned.',
          'Heartbeat before the lease expires; complete with your output and changed files.',
        ].join(' ');
        return {
          body: {
            task,
            role,
            dependencies,
            parent: parent && { id: parent.id, title: parent.title, description: parent.description, status: parent.status },
            claimed: claimed || task.claimedBy === agentId,
            instructions,
          },
          ...(position === undefined ? {} : { position }),
          version: task.version,
        };
      },
    }),
  ];
};
