import {
  DEFAULT_PROJECT_ID,
  projectStreamId,
  type FileConflict,
  type ProjectEvent,
  type TaskClaimed,
  type TaskFields,
  type Usage,
} from '../../events/project.js';
import { reservations } from './files.js';
import { commandMetadata, type RequestMeta } from '../metadata.js';
import { DomainError, notFound, unprocessable } from '../../errors.js';
import type { CommandHandler, CommandResult } from '../handler.js';
import type { ProjectCommand } from './decider.js';
import type { TaskInput, TaskTreeNode } from './tree.js';
import type { ProjectState } from './project.js';
import type { AssignableRole } from '../roles/assignment.js';
import { RoleWorkload } from '../roles/workload.js';
import { DEFAULT_RULES, type ProjectRules } from './rule.js';
import { planUndo } from './undo.js';
import { importTasks, type ImportItem, type ImportTasks } from './importTasks.js';
import { prepareUndo, type UndoLog } from './undoInput.js';
import type { DependencyKind, LinkKind, TaskStatus } from '../../events/vocabulary.js';
import type { StoredEvent } from '../../events/types.js';

export type { RequestMeta } from '../metadata.js';

export type ProjectCommandsDeps = Readonly<{
  handler: CommandHandler<ProjectState, ProjectCommand, ProjectEvent>;
  /** Task id → project id from the read model, waiting for catch-up before giving up. */
  locateTask: (taskId: string) => Promise<string | undefined>;
  newId: () => string;
  now: () => string;
  /** A role's current definition from the `roles` stream (undefined when unknown). */
  roleDefinition?: (name: string) => Promise<AssignableRole | undefined>;
  /** Tasks in progress per role: strict on this node across projects, soft across nodes. */
  workload?: RoleWorkload;
  /** An agent's tasks of a role in progress outside one project (read model, soft): the per-agent cap across projects. */
  agentWorkload?: (role: string, agent: string, exceptProjectId: string) => number;
  /** Projects that hold ready work a role could take, best first. */
  projectsWithReadyWork?: (role: string) => string[];
  /** The log, for undo (which reads a request's events and the project's history). */
  log?: UndoLog;
  /** The decider's rules, for an undo's dry run (planned here, outside the handler). */
  rules?: ProjectRules;
}>;

/** What an undo appended (or, in a dry run, would append), and the request's events it reversed. */
export type UndoResult = Readonly<{
  projectId: string;
  dryRun: boolean;
  undone: readonly StoredEvent[];
  events: ReadonlyArray<{ type: string; data: unknown }>;
  position: number;
}>;

export type CompletionReport = { output: string; artifacts: string[]; changedFiles: string[]; usage?: Usage };

export type TreeInput = TaskInput & { discoveredFrom?: string; children?: readonly TreeInput[] };

/** A command's outcome with the ids of the tasks it created (root first, parents before children). */
export type TaskCreatedResult = CommandResult & Readonly<{ taskId: string }>;
export type TaskTreeCreatedResult = CommandResult & Readonly<{ rootId: string; taskIds: readonly string[] }>;
/** A claim of the best ready task, with the task it picked. */
export type TaskClaimedResult = CommandResult & Readonly<{ taskId: string }>;
/** claim_next_task's outcome: the claim (none: `taskId` undefined) and the tasks passed over for files others hold. */
export type ClaimNextResult = (TaskClaimedResult & Readonly<{ skipped: FileConflict[] }>) | Readonly<{ taskId?: undefined; skipped: FileConflict[] }>;

/** An import as the interchange formats plan it: the items without their fresh ids. */
export type ImportPlan = Omit<ImportTasks['data'], 'items'> & Readonly<{ items: ReadonlyArray<Omit<ImportItem, 'id'>> }>;
/** What an import appended, or (dry run) would append. */
export type ImportResult = Readonly<{ events: ReadonlyArray<{ type: string; data: unknown }>; position: number }>;

/** Files held in a project now: by live claims (`taskId`) and advisory marks (`taskId` null). */
export type FileHold = { holder: string; taskId: string | null; files: string[]; until: string | null };

const idsIn = (result: CommandResult, type: 'TaskCreated' | 'TaskClaimed'): string[] =>
  result.events.filter((e) => e.type === type).map((e) => (e.data as { taskId: string }).taskId);

/** The ids a create minted; a replayed command answers with those its first run recorded, not the fresh ones. */
const createdIds = (result: CommandResult, minted: readonly string[]): string[] => (result.replayed ? idsIn(result, 'TaskCreated') : [...minted]);

const preOrderNodes = (node: TaskTreeNode): TaskTreeNode[] => [node, ...(node.children ?? []).flatMap(preOrderNodes)];
const preOrder = (node: TaskTreeNode): string[] => preOrderNodes(node).map((n) => n.id);

/** The write side as functions: each builds one command, picks its stream and hands it to the handler. */
export const projectCommands = ({
  handler,
  locateTask,
  newId,
  now,
  roleDefinition = async () => undefined,
  workload = new RoleWorkload(
    () => 0,
    async () => undefined,
  ),
  projectsWithReadyWork = () => [],
  agentWorkload = () => 0,
  log,
  rules = DEFAULT_RULES,
}: ProjectCommandsDeps) => {
  const run = (projectId: string, command: Omit<ProjectCommand, 'metadata'>, meta: RequestMeta): Promise<CommandResult> =>
    handler.handle(projectStreamId(projectId), { ...command, metadata: commandMetadata(meta, now()) } as ProjectCommand);

  const projectOf = async (taskId: string, role = 'Task'): Promise<string> => {
    const projectId = await locateTask(taskId);
    if (!projectId) throw notFound('TASK_NOT_FOUND', `${role} ${taskId} does not exist.`, { taskId });
    return projectId;
  };

  /** A subtask goes to its parent's project; a task without either goes to `default`. */
  const targetProject = async (projectId: string | undefined, parentId: string | null | undefined): Promise<string> => {
    if (!parentId) return projectId ?? DEFAULT_PROJECT_ID;
    const parentProject = await projectOf(parentId, 'Parent task');
    if (projectId !== undefined && projectId !== parentProject) {
      throw unprocessable('CROSS_PROJECT_PARENT', `Parent task ${parentId} belongs to project ${parentProject}, not ${projectId}.`, {
        parentId,
        projectId,
        parentProjectId: parentProject,
      });
    }
    return parentProject;
  };

  /**
   * A claim as a role: decided with the role's in-progress count and a slot held meanwhile (RoleWorkload) when the role
   * has a role-wide cap; a role without one (max_concurrent_tasks: null) has nothing to count.
   */
  const withRoleSlot = <T extends CommandResult>(role: string, definition: AssignableRole, decide: (inProgress: number) => Promise<T>) =>
    definition.maxConcurrentTasks === null ? decide(0) : workload.withSlot(role, decide);

  /** The agent's tasks of the role in progress in other projects, counted only where a per-agent limit needs them. */
  const elsewhere = (definition: AssignableRole, role: string, agent: string, projectId: string) =>
    (definition.maxConcurrentTasksPerAgent ?? null) === null ? 0 : agentWorkload(role, agent, projectId);

  const withIds = (node: TreeInput): TaskTreeNode => ({ ...node, id: newId(), children: (node.children ?? []).map(withIds) });

  /** Where the read model places a `discoveredFrom` task, so the decider can name a cross-project link as such. */
  const discovery = async (discoveredFrom: string | undefined) =>
    discoveredFrom === undefined ? {} : { discoveredFrom, discoveredFromProjectId: (await locateTask(discoveredFrom)) ?? null };

  const version = (meta: RequestMeta) => (meta.expectedVersion === undefined ? {} : { expectedVersion: meta.expectedVersion });

  return {
    createProject: (data: { projectId: string; name: string; description?: string }, meta: RequestMeta) =>
      run(data.projectId, { type: 'CreateProject', data }, meta),

    createTask: async (
      data: TaskInput & { projectId?: string; parentId?: string | null; discoveredFrom?: string },
      meta: RequestMeta,
    ): Promise<TaskCreatedResult> => {
      const { projectId, parentId, discoveredFrom, ...task } = data;
      const target = await targetProject(projectId, parentId);
      const taskId = newId();
      const result = await run(
        target,
        { type: 'CreateTask', data: { projectId: target, taskId, parentId: parentId ?? null, task, ...(await discovery(discoveredFrom)) } },
        meta,
      );
      return { ...result, taskId: createdIds(result, [taskId])[0]! };
    },

    createTaskTree: async (
      data: { projectId?: string; parentId?: string | null; root: TreeInput },
      meta: RequestMeta,
    ): Promise<TaskTreeCreatedResult> => {
      const target = await targetProject(data.projectId, data.parentId);
      const root = withIds(data.root);
      const origins = [...new Set(preOrderNodes(root).flatMap((n) => (n.discoveredFrom === undefined ? [] : [n.discoveredFrom])))];
      const discoveredFromProjects = Object.fromEntries(await Promise.all(origins.map(async (id) => [id, (await locateTask(id)) ?? null] as const)));
      const result = await run(
        target,
        {
          type: 'CreateTaskTree',
          data: { projectId: target, parentId: data.parentId ?? null, root, ...(origins.length > 0 ? { discoveredFromProjects } : {}) },
        },
        meta,
      );
      const taskIds = createdIds(result, preOrder(root));
      return { ...result, rootId: taskIds[0]!, taskIds };
    },

    updateTask: async (taskId: string, changes: Partial<TaskFields>, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'UpdateTask', data: { taskId, changes, ...version(meta) } }, meta),

    moveTask: async (taskId: string, parentId: string | null, meta: RequestMeta) => {
      const projectId = await projectOf(taskId);
      if (parentId !== null) {
        const parentProject = await projectOf(parentId, 'Parent task');
        if (parentProject !== projectId) {
          throw unprocessable('CROSS_PROJECT_PARENT', `Task ${taskId} cannot move to a parent in project ${parentProject}.`, {
            taskId,
            parentId,
          });
        }
      }
      return run(projectId, { type: 'MoveTask', data: { taskId, parentId, ...version(meta) } }, meta);
    },

    changeTaskStatus: async (taskId: string, status: TaskStatus, reason: string | undefined, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'ChangeTaskStatus', data: { taskId, status, ...(reason ? { reason } : {}), ...version(meta) } }, meta),

    deleteTask: async (taskId: string, recursive: boolean, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'DeleteTask', data: { taskId, recursive, ...version(meta) } }, meta),

    addDependency: async (taskId: string, dependsOn: string, kind: DependencyKind, meta: RequestMeta) => {
      const projectId = await projectOf(taskId);
      const dependsOnProjectId = (await locateTask(dependsOn)) ?? null;
      return run(projectId, { type: 'AddDependency', data: { taskId, dependsOn, kind, dependsOnProjectId, ...version(meta) } }, meta);
    },

    removeDependency: async (taskId: string, dependsOn: string, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'RemoveDependency', data: { taskId, dependsOn, ...version(meta) } }, meta),

    /** A typed, non-blocking link; linking again what is linked appends nothing. */
    linkTasks: async (taskId: string, kind: LinkKind, target: string, meta: RequestMeta) => {
      const projectId = await projectOf(taskId);
      const targetProjectId = (await locateTask(target)) ?? null;
      return run(projectId, { type: 'LinkTasks', data: { taskId, kind, target, targetProjectId, ...version(meta) } }, meta);
    },

    unlinkTasks: async (taskId: string, kind: LinkKind, target: string, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'UnlinkTasks', data: { taskId, kind, target, ...version(meta) } }, meta),

    /** With `dryRun` the decider checks every rule and appends nothing. */
    assignRole: async (taskId: string, role: string, meta: RequestMeta, dryRun = false) => {
      const projectId = await projectOf(taskId);
      const definition = (await roleDefinition(role)) ?? null;
      const decide = (inProgress: number) =>
        run(
          projectId,
          { type: 'AssignRole', data: { taskId, role, definition, inProgress, dryRun, ...version(meta) } },
          dryRun ? { ...meta, commandId: `dry-run:${meta.commandId}` } : meta,
        );
      return dryRun ? decide(workload.inProgress(role)) : workload.withSlot(role, decide);
    },

    /** `force`: claim even where another agent holds some of the task's files (recorded in the event). */
    claimTask: async (taskId: string, agent: string, leaseSeconds: number, role: string | undefined, meta: RequestMeta, force = false) => {
      const projectId = await projectOf(taskId);
      const definition = role === undefined ? undefined : await roleDefinition(role);
      const forced = force ? { force } : {};
      if (role === undefined) return run(projectId, { type: 'ClaimTask', data: { taskId, agent, leaseSeconds, ...forced } }, meta);
      if (!definition) throw notFound('ROLE_NOT_FOUND', `Role ${role} does not exist.`, { role });
      return withRoleSlot(role, definition, (inProgress) =>
        run(
          projectId,
          {
            type: 'ClaimTask',
            data: {
              taskId,
              agent,
              leaseSeconds,
              role,
              definition,
              inProgress,
              agentElsewhere: elsewhere(definition, role, agent, projectId),
              ...forced,
            },
          },
          meta,
        ),
      );
    },

    /** Tries the given project, or every project with ready work for the role, best first; undefined when none has any. */
    claimNextTask: async (
      role: string,
      agent: string,
      leaseSeconds: number,
      projectId: string | undefined,
      meta: RequestMeta,
    ): Promise<ClaimNextResult> => {
      const definition = (await roleDefinition(role)) ?? null;
      if (!definition) throw notFound('ROLE_NOT_FOUND', `Role ${role} does not exist.`, { role });
      const candidates = projectId ? [projectId] : projectsWithReadyWork(role);
      const skipped: FileConflict[] = [];
      for (const [i, candidate] of candidates.entries()) {
        try {
          const result = await withRoleSlot(role, definition, (inProgress) =>
            run(
              candidate,
              {
                type: 'ClaimNextTask',
                data: { agent, leaseSeconds, role, definition, inProgress, agentElsewhere: elsewhere(definition, role, agent, candidate) },
              },
              { ...meta, commandId: i === 0 ? meta.commandId : `${meta.commandId}:${i}` },
            ),
          );
          const claimed = result.events.find((e) => e.type === 'TaskClaimed') as TaskClaimed | undefined;
          return { ...result, taskId: claimed!.data.taskId, skipped: [...skipped, ...(claimed!.data.skipped ?? [])] };
        } catch (error) {
          if (!(error instanceof DomainError) || error.code !== 'NO_READY_TASK') throw error;
          skipped.push(...((error.details['skipped'] as FileConflict[] | undefined) ?? []));
        }
      }
      return { skipped };
    },

    /** An advisory mark on files the agent edits beyond its task's list; without ttlSeconds it lasts with the agent's lease. */
    markFiles: (projectId: string, agent: string, files: string[], ttlSeconds: number | undefined, meta: RequestMeta) =>
      run(projectId, { type: 'MarkFiles', data: { agent, files, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) } }, meta),

    /** `files` empty: every mark of the agent. */
    unmarkFiles: (projectId: string, agent: string, files: string[], meta: RequestMeta) =>
      run(projectId, { type: 'UnmarkFiles', data: { agent, files } }, meta),

    /** What other agents' claims and marks hold now, read from the project's own stream (the decider's state). */
    fileHolds: async (projectId: string): Promise<FileHold[]> => {
      const state = await handler.load(projectStreamId(projectId));
      if (state.status === 'empty') throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
      return reservations(state, now()).map((r) => ({ holder: r.holder, taskId: r.taskId, files: [...r.files], until: r.until }));
    },

    heartbeat: async (taskId: string, agent: string, leaseSeconds: number, meta: RequestMeta, usage?: Usage, note?: string) =>
      run(
        await projectOf(taskId),
        { type: 'Heartbeat', data: { taskId, agent, leaseSeconds, ...(usage ? { usage } : {}), ...(note === undefined ? {} : { note }) } },
        meta,
      ),

    releaseTask: async (taskId: string, agent: string, reason: string | undefined, meta: RequestMeta, force = false) =>
      run(
        await projectOf(taskId),
        { type: 'ReleaseTask', data: { taskId, agent, ...(reason ? { reason } : {}), ...(force ? { force } : {}) } },
        meta,
      ),

    expireLease: async (taskId: string, meta: RequestMeta) => run(await projectOf(taskId), { type: 'ExpireLease', data: { taskId } }, meta),

    completeTask: async (taskId: string, agent: string, report: CompletionReport, role: string | null, meta: RequestMeta) => {
      const definition = role ? ((await roleDefinition(role)) ?? null) : null;
      return run(await projectOf(taskId), { type: 'CompleteTask', data: { taskId, agent, ...report, definition } }, meta);
    },

    /**
     * Compensating events for one request (history is never edited), decided in the project's queue; refused
     * when later events touched its tasks. A dry run plans against the log as read and appends nothing.
     */
    undoRequest: async (correlationId: string, dryRun: boolean, meta: RequestMeta): Promise<UndoResult> => {
      if (!log) throw new Error('projectCommands needs `log` for undo');
      for (let attempt = 1; ; attempt++) {
        const prepared = await prepareUndo(log, correlationId);
        const undoMeta = { ...meta, causationId: correlationId };
        const base = { projectId: prepared.projectId, dryRun, undone: prepared.undone };
        if (dryRun) {
          const command = { type: 'UndoRequest', data: prepared.data, metadata: commandMetadata(undoMeta, now()) } as const;
          const events = planUndo(command, prepared.state, rules);
          return { ...base, events, position: prepared.position };
        }
        try {
          const result = await run(prepared.projectId, { type: 'UndoRequest', data: prepared.data }, undoMeta);
          return { ...base, events: result.events.map(({ type, data }) => ({ type, data })), position: result.position };
        } catch (error) {
          // Another command of the project slipped in between the read and the decision: read again.
          if (!(error instanceof DomainError) || error.code !== 'UNDO_STALE' || attempt >= 5) throw error;
        }
      }
    },

    /** One project's import as one decision and one append; a dry run decides against the project as it stands and appends nothing. */
    importTasks: async (plan: ImportPlan, meta: RequestMeta, dryRun = false): Promise<ImportResult> => {
      const data: ImportTasks['data'] = { ...plan, items: plan.items.map((item) => ({ ...item, id: newId() })) };
      if (!dryRun) {
        const result = await run(plan.projectId, { type: 'ImportTasks', data }, meta);
        return { events: result.events.map(({ type, data }) => ({ type, data })), position: result.position };
      }
      const state = await handler.load(projectStreamId(plan.projectId));
      const decided = importTasks({ type: 'ImportTasks', data, metadata: commandMetadata(meta, now()) }, state, rules);
      return { events: Array.isArray(decided) ? decided : [decided], position: 0 };
    },

    unassignRole: async (taskId: string, role: string | undefined, meta: RequestMeta) =>
      run(await projectOf(taskId), { type: 'UnassignRole', data: { taskId, ...(role ? { role } : {}), ...version(meta) } }, meta),
  };
};

export type ProjectCommands = ReturnType<typeof projectCommands>;
