import type Database from 'better-sqlite3';
import type { GraphDirection, GraphStore, Reached } from '../../projections/graph/graphStore.js';
import type { CpmEdge, CpmTask } from '../../algorithms/cpm.js';
import { prepared } from '../prepared.js';

export type AnalyticsTask = CpmTask & { createdSeq: number; priority: string; role: string | null; parentId: string | null };
export type ProjectGraph = Readonly<{ projectId: string; tasks: readonly AnalyticsTask[]; edges: readonly CpmEdge[] }>;

/** Where the analytics read a project's tasks and dependencies: the SQLite model or the graph model. */
export interface AdjacencySource {
  readonly name: 'sqlite' | 'graph';
  /** The project of a live task, or undefined for a deleted or unknown one. */
  projectOf(taskId: string): string | undefined;
  loadProject(projectId: string): ProjectGraph;
  /** Transitive dependencies or dependents with their distance (for comparison with the in-memory walk). */
  reach(taskId: string, direction: GraphDirection, maxDepth: number): Reached[];
}

type TaskTuple = [string, number | null, string, number, string, string | null, string | null];

export const sqliteSource = (db: Database.Database): AdjacencySource => {
  // Through prepared(): the read model's connection changes when a blue-green rebuild swaps it in.
  const s = {
    get project() {
      return prepared<[string], { project_id: string }>(db, 'SELECT project_id FROM tasks WHERE id = ?');
    },
    get tasks() {
      return prepared<[string]>(db, 'SELECT id, estimate, status, seq, priority, role, parent_id FROM tasks WHERE project_id = ?').raw(true);
    },
    // Through the tasks index: `dependencies` has no project index, and a scan grows with every project.
    get edges() {
      return prepared<[string]>(
        db,
        'SELECT d.task_id, d.depends_on, d.kind FROM tasks t JOIN dependencies d ON d.task_id = t.id WHERE t.project_id = ?',
      ).raw(true);
    },
    get dependencies() {
      return prepared<[string]>(db, 'SELECT depends_on FROM dependencies WHERE task_id = ?').pluck(true);
    },
    get dependents() {
      return prepared<[string]>(db, 'SELECT task_id FROM dependencies WHERE depends_on = ?').pluck(true);
    },
  };
  return {
    name: 'sqlite',
    projectOf: (taskId) => s.project.get(taskId)?.project_id,
    loadProject: (projectId) => ({
      projectId,
      tasks: (s.tasks.all(projectId) as TaskTuple[]).map(([id, estimate, status, createdSeq, priority, role, parentId]) => ({
        id,
        estimate,
        status,
        createdSeq,
        priority,
        role,
        parentId,
      })),
      edges: (s.edges.all(projectId) as [string, string, 'hard' | 'soft'][]).map(([taskId, dependsOn, kind]) => ({ taskId, dependsOn, kind })),
    }),
    reach: (taskId, direction, maxDepth) => {
      const step = direction === 'dependencies' ? s.dependencies : s.dependents;
      const seen = new Set([taskId]);
      const out: Reached[] = [];
      let frontier = [taskId];
      for (let distance = 1; distance <= maxDepth && frontier.length > 0; distance++) {
        const next: string[] = [];
        for (const id of frontier) {
          for (const other of step.all(id) as string[]) {
            if (seen.has(other)) continue;
            seen.add(other);
            out.push({ id: other, distance });
            next.push(other);
          }
        }
        frontier = next;
      }
      return out;
    },
  };
};

export const graphSource = (graph: GraphStore): AdjacencySource => ({
  name: 'graph',
  projectOf: (taskId) => graph.getTask(taskId)?.project,
  loadProject: (projectId) => {
    const { tasks, edges } = graph.projectGraph(projectId);
    return {
      projectId,
      tasks: tasks.map(({ id, estimate, status, createdSeq, priority, role, parentId }) => ({
        id,
        estimate,
        status,
        createdSeq,
        priority,
        role,
        parentId,
      })),
      edges,
    };
  },
  reach: (taskId, direction, maxDepth) => graph.reach(taskId, direction, maxDepth),
});

/** Title of every task of a project (the graph model holds no titles): for the pictures. */
export const taskTitles =
  (db: Database.Database) =>
  (projectId: string): Map<string, string> =>
    new Map(prepared<[string]>(db, 'SELECT id, title FROM tasks WHERE project_id = ?').raw(true).all(projectId) as [string, string][]);
