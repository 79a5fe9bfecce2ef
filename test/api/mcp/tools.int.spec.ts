import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expect } from 'chai';
import { startVectorApp, vectorsCaughtUp } from '../../queries/search/support.js';
import type { TestApp } from '../../support/testApp.js';
import { call, connect, ok, refused, type Connected } from './support.js';

/** What every builder may use: the admin client, a client whose token carries no useful capability, fresh fixtures. */
type Fixture = {
  admin: Client;
  powerless: Client;
  projectId: string;
  /** `blocked` depends on `base` (hard). */
  base: string;
  blocked: string;
  task: (title?: string) => Promise<string>;
  claimed: () => Promise<string>;
  role: (name: string) => Promise<string>;
  plugin: (id: string) => Promise<string>;
  /** A client of its own (a fresh plugin token), for calls that spend their token. */
  client: () => Promise<Client>;
  /** Resolves once the vector read model has every task created so far. */
  vectorsCaughtUp: () => Promise<void>;
};
/** `check`: what the happy path's answer must say beyond matching the output schema (content, not only shape). */
type Call = { args: Record<string, unknown>; client?: Client; check?: (body: any) => void | Promise<void> }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Builder = { ok: (fx: Fixture) => Promise<Call>; refused: (fx: Fixture) => Promise<Call & { code: string }> };

const MISSING = 'no-such-task';
const FAR_POSITION = 10 ** 12;
const roleSpec = (name: string, description = 'A role written by the MCP spec.') => ({
  name,
  description,
  capabilities: ['code_writing', 'testing'],
  filePatterns: ['src/**'],
  tools: ['read_file'],
  maxConcurrentTasks: 2,
  restrictions: { maxFileChanges: 10, maxTaskDepth: 5, requireApproval: false, timeLimitMinutes: 60 },
});
const lacking = async (fx: Fixture, args: Record<string, unknown>) => ({ args, client: fx.powerless, code: 'MISSING_CAPABILITY' });

/**
 * One happy path and one refusal per tool. A tool the server lists without a builder here fails the
 * coverage spec below: whoever adds an operation to the catalog adds its builder too.
 */
const BUILDERS: Record<string, Builder> = {
  create_task: {
    ok: async (fx) => ({ args: { title: 'Write the lexer', projectId: fx.projectId, priority: 'high', tags: ['parser'] } }),
    refused: async (fx) => ({ args: { title: 'Orphan', projectId: fx.projectId, parentId: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  create_task_tree: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId, root: { title: 'Epic', children: [{ title: 'Story', children: [{ title: 'Subtask' }] }] } },
    }),
    refused: async (fx) => ({ args: { projectId: fx.projectId, parentId: MISSING, root: { title: 'Epic' } }, code: 'TASK_NOT_FOUND' }),
  },
  list_tasks: {
    ok: async (fx) => ({ args: { projectId: fx.projectId, fields: ['id', 'title', 'status'], limit: 5 } }),
    refused: async () => ({ args: { cursor: 'not-a-cursor' }, code: 'INVALID_CURSOR' }),
  },
  list_ready_tasks: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { cursor: 'not-a-cursor' }, code: 'INVALID_CURSOR' }),
  },
  get_task_dashboard: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { minPosition: FAR_POSITION }, code: 'POSITION_NOT_REACHED' }),
  },
  get_task: {
    ok: async (fx) => ({ args: { id: fx.base } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  update_task: {
    ok: async (fx) => ({ args: { id: await fx.task(), priority: 'critical', tags: ['urgent'] } }),
    refused: async (fx) => ({ args: { id: await fx.task(), title: 'Stale', expectedVersion: 99 }, code: 'CONCURRENCY_CONFLICT' }),
  },
  delete_task: {
    ok: async (fx) => ({ args: { id: await fx.task() } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  move_task: {
    ok: async (fx) => ({ args: { id: await fx.task(), parentId: fx.base } }),
    refused: async (fx) => ({ args: { id: fx.base, parentId: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  change_task_status: {
    ok: async (fx) => ({ args: { id: await fx.task(), status: 'in_progress' } }),
    refused: async (fx) => ({ args: { id: fx.blocked, status: 'in_progress' }, code: 'DEPENDENCIES_NOT_MET' }),
  },
  get_task_tree: {
    ok: async (fx) => ({ args: { id: fx.base, depth: 2 } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  add_task_dependency: {
    ok: async (fx) => ({ args: { id: await fx.task(), dependsOn: fx.base } }),
    refused: async (fx) => ({ args: { id: fx.base, dependsOn: fx.blocked }, code: 'DEPENDENCY_CYCLE' }),
  },
  remove_task_dependency: {
    ok: async (fx) => {
      const id = await fx.task();
      ok(await call(fx.admin, 'add_task_dependency', { id, dependsOn: fx.base }));
      return { args: { id, dependsOn: fx.base } };
    },
    refused: async (fx) => ({ args: { id: fx.base, dependsOn: fx.blocked }, code: 'DEPENDENCY_NOT_FOUND' }),
  },
  link_tasks: {
    ok: async (fx) => ({ args: { id: await fx.task(), kind: 'related', target: fx.base } }),
    refused: async (fx) => ({ args: { id: fx.base, kind: 'related', target: fx.base }, code: 'SELF_LINK' }),
  },
  unlink_tasks: {
    ok: async (fx) => {
      const id = await fx.task();
      ok(await call(fx.admin, 'link_tasks', { id, kind: 'duplicates', target: fx.base }));
      return { args: { id, kind: 'duplicates', target: fx.base } };
    },
    refused: async (fx) => ({ args: { id: fx.base, kind: 'related', target: fx.blocked }, code: 'LINK_NOT_FOUND' }),
  },
  list_task_dependencies: {
    ok: async (fx) => ({ args: { id: fx.blocked, direction: 'dependencies' } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  get_task_history: {
    ok: async (fx) => ({ args: { id: fx.base, limit: 5 } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  claim_next_task: {
    ok: async (fx) => {
      const projectId = `claims-${Date.now()}`;
      ok(await call(fx.admin, 'create_project', { id: projectId, name: projectId }));
      ok(await call(fx.admin, 'create_task', { title: 'Ready work', projectId }));
      return { args: { role: 'generalist', projectId } };
    },
    refused: async () => ({ args: { role: 'generalist', projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  claim_task: {
    ok: async (fx) => ({ args: { id: await fx.task() } }),
    refused: async (fx) => ({ args: { id: fx.blocked }, code: 'DEPENDENCIES_NOT_MET' }),
  },
  mark_files: {
    ok: async (fx) => ({ args: { projectId: fx.projectId, files: ['src/mcp-marked/**'], ttlSeconds: 60 } }),
    refused: async (fx) => ({ args: { projectId: fx.projectId, files: ['src/untimed.ts'], agent: 'leaseless-agent' }, code: 'MARK_NEEDS_TTL' }),
  },
  unmark_files: {
    ok: async (fx) => ({ args: { projectId: fx.projectId, files: ['src/mcp-marked/**'] } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  list_file_marks: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  heartbeat_task: {
    ok: async (fx) => ({ args: { id: await fx.claimed(), leaseSeconds: 600 } }),
    refused: async (fx) => ({ args: { id: await fx.task() }, code: 'NOT_CLAIMED' }),
  },
  release_task: {
    ok: async (fx) => ({ args: { id: await fx.claimed(), reason: 'handing over' } }),
    refused: async (fx) => ({ args: { id: await fx.task() }, code: 'NOT_CLAIMED' }),
  },
  complete_task: {
    ok: async (fx) => ({ args: { id: await fx.claimed(), output: 'Lexer written and tested.' } }),
    refused: async (fx) => ({ args: { id: await fx.task(), output: 'Never claimed.' }, code: 'NOT_CLAIMED' }),
  },
  execute_task: {
    ok: async (fx) => ({ args: { id: fx.blocked, dryRun: true } }),
    refused: async () => ({ args: { id: MISSING, dryRun: true }, code: 'TASK_NOT_FOUND' }),
  },
  analyze_task_dependencies: {
    ok: async (fx) => ({ args: { id: fx.blocked } }),
    refused: async () => ({ args: { id: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  get_critical_path: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  get_task_impact: {
    ok: async (fx) => ({ args: { id: fx.base, hours: 4 } }),
    refused: async () => ({ args: { id: MISSING, hours: 4 }, code: 'TASK_NOT_FOUND' }),
  },
  find_bottlenecks: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  find_dependency_path: {
    ok: async (fx) => ({ args: { id: fx.blocked, to: fx.base } }),
    refused: async (fx) => ({ args: { id: MISSING, to: fx.base }, code: 'TASK_NOT_FOUND' }),
  },
  get_project_graph: {
    // The default (Mermaid) answers several lines of text: projectGraph.int.spec.ts checks it; json is one line.
    ok: async (fx) => ({
      args: { projectId: fx.projectId, format: 'json' },
      check: (body) => {
        expect(body.edges).to.deep.include({ from: fx.blocked, to: fx.base, kind: 'hard' });
      },
    }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  graph_query: {
    ok: async (fx) => ({
      args: { cypher: 'MATCH (t:Task {id: $id})-[:DEPENDS_ON]->(d:Task) RETURN d.id AS id', params: { id: fx.blocked } },
      check: (body) => {
        expect(body.rows).to.deep.equal([{ id: fx.base }]);
      },
    }),
    refused: async () => ({ args: { cypher: "CREATE (:Task {id: 'x'})" }, code: 'GRAPH_QUERY_REFUSED' }),
  },
  get_project_health: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId },
      check: (body) => {
        expect(body.blockedChains.count).to.be.at.least(1);
      },
    }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  get_recommendations: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId },
      check: (body) => {
        expect(body.items.map((i: { taskId: string }) => i.taskId)).to.include(fx.base);
      },
    }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  create_project: {
    ok: async () => ({ args: { name: `Project ${Date.now()}` } }),
    refused: async (fx) => ({ args: { id: fx.projectId, name: 'Again' }, code: 'PROJECT_EXISTS' }),
  },
  list_projects: {
    ok: async () => ({ args: { limit: 2 } }),
    refused: async () => ({ args: { cursor: 'not-a-cursor' }, code: 'INVALID_CURSOR' }),
  },
  get_project: {
    ok: async (fx) => ({ args: { projectId: fx.projectId } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  get_project_tree: {
    ok: async (fx) => ({ args: { projectId: fx.projectId, depth: 1 } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  import_taskmaster: {
    ok: async () => ({
      args: {
        content: {
          tasks: [
            { id: 1, title: 'Imported', dependencies: [] },
            { id: 2, title: 'After it', dependencies: [1] },
          ],
        },
        projectId: `tm-${Date.now()}`,
      },
      check: (body) => {
        expect(body.projects[0].tasks.created).to.equal(2);
      },
    }),
    refused: async () => ({ args: { content: { tasks: [{ id: 1, title: 'Orphan', dependencies: [9] }] } }, code: 'IMPORT_MISSING_REFERENCES' }),
  },
  import_beads: {
    ok: async () => ({
      args: { content: '{"id":"mcp-1","title":"Imported issue","status":"closed","priority":1}\n', projectId: `bd-${Date.now()}` },
      check: (body) => {
        expect(body.projects[0].statuses).to.deep.equal([{ from: 'closed', to: 'completed', count: 1 }]);
      },
    }),
    refused: async () => ({ args: { content: '{"id":"mcp-2","title":' }, code: 'IMPORT_MALFORMED' }),
  },
  export_project: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId, format: 'taskmaster' },
      check: (body) => {
        expect(JSON.parse(body.content)[fx.projectId].tasks.length).to.be.above(0);
      },
    }),
    refused: async () => ({ args: { projectId: 'no-such-project', format: 'beads' }, code: 'PROJECT_NOT_FOUND' }),
  },
  get_usage: {
    ok: async (fx) => ({ args: { projectId: fx.projectId, by: 'agent' } }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  list_roles: {
    ok: async () => ({ args: {} }),
    refused: (fx) => lacking(fx, {}),
  },
  find_suitable_roles: {
    ok: async () => ({ args: { capabilities: ['testing'], files: ['src/index.ts'] } }),
    refused: (fx) => lacking(fx, { capabilities: ['testing'] }),
  },
  get_role_workload: {
    ok: async () => ({ args: { role: 'generalist' } }),
    refused: (fx) => lacking(fx, {}),
  },
  get_role: {
    ok: async () => ({ args: { name: 'generalist' } }),
    refused: async () => ({ args: { name: 'no_such_role' }, code: 'ROLE_NOT_FOUND' }),
  },
  define_role: {
    ok: async () => ({ args: roleSpec(`spec_defined_${Date.now()}`) }),
    refused: async (fx) => ({ args: roleSpec(await fx.role(`spec_twice_${Date.now()}`)), code: 'ROLE_EXISTS' }),
  },
  change_role: {
    ok: async (fx) => ({ args: roleSpec(await fx.role(`spec_changed_${Date.now()}`), 'Changed by the MCP spec.') }),
    refused: async () => ({ args: roleSpec('generalist'), code: 'ROLE_READ_ONLY' }),
  },
  retire_role: {
    ok: async (fx) => ({ args: { name: await fx.role(`spec_retired_${Date.now()}`) } }),
    refused: async () => ({ args: { name: 'no_such_role' }, code: 'ROLE_NOT_FOUND' }),
  },
  validate_role_assignment: {
    ok: async (fx) => ({ args: { name: 'generalist', taskId: fx.base } }),
    refused: async () => ({ args: { name: 'generalist', taskId: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  assign_role_to_task: {
    ok: async (fx) => ({ args: { name: 'generalist', taskId: await fx.task() } }),
    refused: async (fx) => ({ args: { name: 'no_such_role', taskId: await fx.task() }, code: 'ROLE_VALIDATION_ERROR' }),
  },
  unassign_role: {
    ok: async (fx) => {
      const taskId = await fx.task();
      ok(await call(fx.admin, 'assign_role_to_task', { name: 'generalist', taskId }));
      return { args: { name: 'generalist', taskId } };
    },
    refused: async () => ({ args: { name: 'generalist', taskId: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  register_plugin: {
    ok: async () => ({ args: { id: `spec-agent-${Date.now()}`, name: 'Spec agent', type: 'agent', capabilities: ['task_reading'] } }),
    refused: async (fx) => ({
      args: { id: await fx.plugin(`spec-twice-${Date.now()}`), name: 'Twice', type: 'agent', capabilities: ['search'] },
      code: 'PLUGIN_EXISTS',
    }),
  },
  list_plugins: {
    ok: async () => ({ args: { limit: 3 } }),
    refused: (fx) => lacking(fx, {}),
  },
  who_am_i: {
    ok: async () => ({ args: {} }),
    refused: async () => ({ args: { whoever: true }, code: 'VALIDATION_ERROR' }),
  },
  refresh_token: {
    ok: async (fx) => ({ args: {}, client: await fx.client() }),
    refused: async () => ({ args: { ttlSeconds: 5 }, code: 'VALIDATION_ERROR' }),
  },
  get_plugin: {
    ok: async () => ({ args: { pluginId: 'admin' } }),
    refused: async () => ({ args: { pluginId: 'no-such-plugin' }, code: 'PLUGIN_NOT_FOUND' }),
  },
  change_plugin_capabilities: {
    ok: async (fx) => ({ args: { pluginId: await fx.plugin(`spec-caps-${Date.now()}`), capabilities: ['task_reading', 'search'] } }),
    refused: async () => ({ args: { pluginId: 'no-such-plugin', capabilities: ['search'] }, code: 'PLUGIN_NOT_FOUND' }),
  },
  revoke_plugin: {
    ok: async (fx) => ({ args: { pluginId: await fx.plugin(`spec-revoked-${Date.now()}`), reason: 'spec' } }),
    refused: async () => ({ args: { pluginId: 'no-such-plugin' }, code: 'PLUGIN_NOT_FOUND' }),
  },
  issue_token: {
    ok: async (fx) => ({ args: { pluginId: await fx.plugin(`spec-issued-${Date.now()}`), ttlSeconds: 3600 } }),
    refused: async () => ({ args: { pluginId: 'no-such-plugin' }, code: 'PLUGIN_NOT_FOUND' }),
  },
  revoke_token: {
    ok: async (fx) => {
      const pluginId = await fx.plugin(`spec-token-${Date.now()}`);
      const { jti } = ok<{ jti: string }>(await call(fx.admin, 'issue_token', { pluginId }));
      return { args: { pluginId, jti } };
    },
    refused: async (fx) => ({ args: { pluginId: await fx.plugin(`spec-notoken-${Date.now()}`), jti: 'no-such-token' }, code: 'TOKEN_NOT_FOUND' }),
  },
  search_tasks: {
    ok: async (fx) => ({ args: { q: 'parser', projectId: fx.projectId, mode: 'keyword' } }),
    refused: (fx) => lacking(fx, { q: 'parser' }),
  },
  find_similar_tasks: {
    ok: async (fx) => {
      const twin = await fx.task('Parse the configuration files');
      await fx.vectorsCaughtUp();
      return {
        args: { taskId: fx.base },
        check: (body: { items: { id: string }[] }) => {
          const ids = body.items.map((item) => item.id);
          expect(ids, 'similar tasks').to.include(twin);
          expect(ids, 'a task is not similar to itself').not.to.include(fx.base);
        },
      };
    },
    refused: async () => ({ args: { taskId: MISSING }, code: 'TASK_NOT_FOUND' }),
  },
  cluster_tasks: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId },
      check: (body: { tasks: number; k: number; clusters: { size: number; taskIds: string[] }[] }) => {
        expect(body.tasks, 'tasks clustered').to.be.greaterThan(2);
        expect(body.k).to.equal(body.clusters.length).and.to.be.greaterThan(0);
        expect(
          body.clusters.reduce((sum, c) => sum + c.size, 0),
          'every task in exactly one cluster',
        ).to.equal(body.tasks);
        expect(
          body.clusters.flatMap((c) => c.taskIds),
          'the base task is in a cluster',
        ).to.include(fx.base);
      },
    }),
    refused: async () => ({ args: { projectId: 'no-such-project' }, code: 'PROJECT_NOT_FOUND' }),
  },
  check_duplicates: {
    ok: async (fx) => ({ args: { title: 'Parse the configuration', projectId: fx.projectId } }),
    refused: (fx) => lacking(fx, { title: 'Parse the configuration' }),
  },
  list_services: {
    ok: async () => ({ args: {} }),
    refused: (fx) => lacking(fx, {}),
  },
  control_service: {
    ok: async () => ({ args: { name: 'cycle_detection', action: 'restart' } }),
    refused: async () => ({ args: { name: 'no_such_service', action: 'start' }, code: 'SERVICE_NOT_FOUND' }),
  },
  // Audit and admin tools (docs/audit.md).
  list_events: {
    ok: async (fx) => ({
      args: { taskId: fx.base, limit: 5 },
      check: (body) => {
        expect(body.items.length).to.be.greaterThan(0);
        expect(body.items[0].type).to.equal('TaskCreated');
      },
    }),
    refused: async () => ({ args: { from: '2026-02-30T00:00:00Z' }, code: 'INVALID_TIME' }),
  },
  get_correlation: {
    ok: async (fx) => {
      const created = ok<{ items: Array<{ metadata: { correlationId: string } }> }>(
        await call(fx.admin, 'list_events', { taskId: fx.base, limit: 1 }),
      );
      const correlationId = created.items[0]!.metadata.correlationId;
      return {
        args: { correlationId },
        check: (body) => {
          expect(body.items.map((e: { metadata: { correlationId: string } }) => e.metadata.correlationId)).to.include(correlationId);
        },
      };
    },
    refused: async () => ({ args: { correlationId: 'no-such-request' }, code: 'CORRELATION_NOT_FOUND' }),
  },
  get_task_as_of: {
    ok: async (fx) => ({
      args: { id: fx.base, at: '2100-01-01T00:00:00Z' },
      check: (body) => {
        expect(body.task.id).to.equal(fx.base);
      },
    }),
    refused: async (fx) => ({ args: { id: fx.base, at: String(FAR_POSITION) }, code: 'POSITION_NOT_REACHED' }),
  },
  get_project_as_of: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId, limit: 5 },
      check: (body) => {
        expect(body.project.taskCount).to.be.greaterThan(0);
      },
    }),
    refused: async (fx) => ({ args: { projectId: fx.projectId, at: 'yesterday' }, code: 'INVALID_POINT' }),
  },
  diff_project: {
    ok: async (fx) => ({
      args: { projectId: fx.projectId },
      check: (body) => {
        expect(body.counts.created).to.be.greaterThan(0);
      },
    }),
    refused: async (fx) => ({ args: { projectId: fx.projectId, from: String(FAR_POSITION) }, code: 'POSITION_NOT_REACHED' }),
  },
  undo_request: {
    ok: async (fx) => {
      const id = await fx.task('Undone by the MCP spec');
      const created = ok<{ items: Array<{ metadata: { correlationId: string } }> }>(await call(fx.admin, 'list_events', { taskId: id, limit: 1 }));
      return { args: { correlationId: created.items[0]!.metadata.correlationId, dryRun: true } };
    },
    refused: async () => ({ args: { correlationId: 'no-such-request' }, code: 'REQUEST_NOT_FOUND' }),
  },
  list_admin_jobs: {
    ok: async () => ({ args: {} }),
    refused: (fx) => lacking(fx, {}),
  },
  get_admin_job: {
    ok: async (fx) => {
      const listed = ok<{ items: Array<{ id: string }> }>(await call(fx.admin, 'list_admin_jobs', {}));
      const id = listed.items[0]?.id ?? ok<{ id: string }>(await call(fx.admin, 'verify_read_models', { model: 'sqlite' })).id;
      return {
        args: { id },
        check: (body) => {
          expect(body.id).to.equal(id);
        },
      };
    },
    refused: async () => ({ args: { id: '00000000-0000-4000-8000-000000000000' }, code: 'JOB_NOT_FOUND' }),
  },
  verify_read_models: {
    ok: async () => ({
      args: { model: 'sqlite' },
      check: (body) => {
        expect(body.kind).to.equal('verify');
      },
    }),
    refused: (fx) => lacking(fx, { model: 'sqlite' }),
  },
  rebuild_read_model: {
    ok: async () => ({
      args: { model: 'sqlite' },
      check: (body) => {
        expect(body.kind).to.equal('rebuild');
      },
    }),
    refused: (fx) => lacking(fx, { model: 'sqlite' }),
  },
};

describe('MCP tools (SDK Client over InMemoryTransport, vectors on)', function () {
  this.timeout(180_000);
  let app: TestApp;
  let admin: Connected;
  let powerless: Connected;
  let fx: Fixture;
  let listed: string[];
  const clients: Connected[] = [];

  before(async () => {
    // Vectors on, as `vespera serve` runs: the semantic tools are part of the catalog like any other.
    app = await startVectorApp();
    admin = await connect(app);
    const c = admin.client;
    ok(await call(c, 'register_plugin', { id: 'spec-powerless', name: 'Powerless', type: 'agent', capabilities: ['file_context'] }));
    const { token } = ok<{ token: string }>(await call(c, 'issue_token', { pluginId: 'spec-powerless' }));
    powerless = await connect(app, { token });
    const projectId = 'mcp-spec';
    ok(await call(c, 'create_project', { id: projectId, name: 'MCP spec' }));
    const task = async (title = 'Spec task') => ok<{ id: string }>(await call(c, 'create_task', { title, projectId })).id;
    const base = await task('Parse the configuration file');
    const blocked = await task('Write parser tests');
    ok(await call(c, 'add_task_dependency', { id: blocked, dependsOn: base }));
    await vectorsCaughtUp(app);
    fx = {
      admin: c,
      powerless: powerless.client,
      projectId,
      base,
      blocked,
      task,
      claimed: async () => {
        const id = await task('Claimed work');
        ok(await call(c, 'claim_task', { id }));
        return id;
      },
      role: async (name) => ok<{ name: string }>(await call(c, 'define_role', roleSpec(name))).name,
      plugin: async (id) => ok<{ id: string }>(await call(c, 'register_plugin', { id, name: id, type: 'agent', capabilities: ['task_reading'] })).id,
      vectorsCaughtUp: () => vectorsCaughtUp(app),
      client: async () => {
        const pluginId = await fx.plugin(`spec-client-${clients.length}-${Date.now()}`);
        const connected = await connect(app, { token: ok<{ token: string }>(await call(c, 'issue_token', { pluginId })).token });
        clients.push(connected);
        return connected.client;
      },
    };
    listed = (await c.listTools()).tools.map((t) => t.name);
  });
  after(async () => {
    for (const connected of clients) await connected.close();
    await powerless?.close();
    await admin?.close();
    await app?.close();
  });

  it('has a builder for every tool it lists, and lists every tool it has a builder for', () => {
    expect(
      listed.filter((name) => !(name in BUILDERS)),
      'tools without a builder in test/api/mcp/tools.int.spec.ts',
    ).to.deep.equal([]);
    expect(
      Object.keys(BUILDERS).filter((name) => !listed.includes(name)),
      'builders for tools the server does not list',
    ).to.deep.equal([]);
  });

  for (const [tool, builder] of Object.entries(BUILDERS)) {
    describe(tool, () => {
      it('answers with structuredContent matching the operation’s output schema', async () => {
        expect(listed, 'tools/list').to.include(tool);
        const { args, client = fx.admin, check } = await builder.ok(fx);
        const body = ok(await call(client, tool, args));
        await check?.(body);
        const op = app.operations.find((o) => o.tool === tool)!;
        const validate = app.validators.get(op.name)!.output;
        expect(validate(op.output.type === 'object' ? body : body.result), JSON.stringify(validate.errors)).to.equal(true);
      });

      it('refuses with a stable code and a hint', async () => {
        expect(listed, 'tools/list').to.include(tool);
        const { args, client = fx.admin, code } = await builder.refused(fx);
        refused(await call(client, tool, args), code);
      });
    });
  }
});
