/**
 * The dependency graph read model behind a small interface, so the embedded graph engine (Kuzu, whose
 * last release is 0.11.3) can be replaced without touching the projection or the analytics.
 */

export type GraphTask = {
  id: string;
  project: string;
  title: string;
  status: string;
  priority: string;
  estimate: number | null;
  role: string | null;
  /** The paths and patterns of the task's `files`, as given. */
  files: string[];
  /** The agent holding the task's claim, null when nobody does. */
  claimedBy: string | null;
  /** Depth in the task tree (0 for a top-level task). */
  depth: number;
  /** Log position of the task's creation: its age, and a stable order. */
  createdSeq: number;
};

export type GraphEdge = { taskId: string; dependsOn: string; kind: 'hard' | 'soft' };
export type GraphChild = { taskId: string; parentId: string };
/** A typed link (TaskLinked): no dependency, so neither the cycle check nor the critical path follows it. */
export type GraphLink = { taskId: string; kind: string; target: string };
export type GraphSnapshot = { tasks: GraphTask[]; edges: GraphEdge[]; children: GraphChild[]; links: GraphLink[] };
export type Reached = { id: string; distance: number };
export type GraphDirection = 'dependencies' | 'dependents';
export type GraphCheckpoint = { position: number; version: number };

/** A value as JSON carries it: Kuzu's big integers and dates arrive as numbers (or strings) and ISO strings. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type GraphQueryParams = Readonly<Record<string, string | number | boolean | null | ReadonlyArray<string | number | boolean | null>>>;
export type GraphQueryResult = { columns: string[]; rows: Record<string, JsonValue>[]; truncated: boolean };

/** A query Kuzu could not run (its message), or one that ran past its time: the caller's doing, never the store's. */
export class GraphQueryError extends Error {
  constructor(
    readonly code: 'GRAPH_QUERY_INVALID' | 'GRAPH_QUERY_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'GraphQueryError';
  }
}

/**
 * New values for a task's status, claim holder and role, as claims, releases, completions, status changes and role
 * assignments set them: `claimedBy` / `role` undefined leave the stored value as it is.
 */
export type GraphStatusMove = { id: string; status?: string; claimedBy?: string | null; role?: string | null };

/** `base` with the values `move` sets (its undefined fields leave base's as they are). */
export const withMove = <T extends GraphStatusMove>(base: T, { status, claimedBy, role }: GraphStatusMove): T => ({
  ...base,
  ...(status === undefined ? {} : { status }),
  ...(claimedBy === undefined ? {} : { claimedBy }),
  ...(role === undefined ? {} : { role }),
});

/** The writes the projection makes; implemented by the store and by the in-memory fold of a rebuild. */
export interface GraphWriter {
  /** Moves of tasks in the graph (a task not there is skipped), in few statements: the path for a swarm's claims. */
  moveTasks(moves: readonly GraphStatusMove[]): void;
  getTask(id: string): GraphTask | undefined;
  upsertTask(task: GraphTask): void;
  /** Sets `parentId` (or none) and rewrites the depth of the task's whole subtree. */
  setParent(id: string, parentId: string | null): void;
  /** Removes the task with its relationships. */
  deleteTask(id: string): void;
  upsertEdge(edge: GraphEdge): void;
  deleteEdge(taskId: string, dependsOn: string): void;
  /** A link between two tasks in the graph (none when either is missing). */
  upsertLink(link: GraphLink): void;
  deleteLink(link: GraphLink): void;
  /** Tasks not in the graph yet, each under its parent (if any), in few statements: the path for task trees. */
  insertTasks(tasks: readonly (GraphTask & { parentId: string | null })[]): void;
}

export interface GraphStore extends GraphWriter {
  readonly kind: string;
  /** Runs `work` atomically (the writes of one batch and its checkpoint). */
  transaction(work: () => void): void;
  /** Every task and dependency of a project (parent links included), for the analytics. */
  projectGraph(projectId: string): { tasks: (GraphTask & { parentId: string | null })[]; edges: GraphEdge[] };
  /** Tasks reached from `id` along dependencies (or dependents), each with its shortest distance, up to `maxDepth` steps. */
  reach(id: string, direction: GraphDirection, maxDepth: number): Reached[];
  /** The shortest chain `from` → … → `to` following "depends on", or null. */
  shortestPath(from: string, to: string): string[] | null;
  /**
   * A caller's read-only Cypher (already checked by readOnlyCypher.ts) in a read-only transaction on a connection of
   * its own: at most `maxRows` rows, stopped after `timeoutMs`. Throws GraphQueryError for what Kuzu refuses.
   */
  query(cypher: string, params: GraphQueryParams, limits: { maxRows: number; timeoutMs: number }): GraphQueryResult;
  /** Every dependency edge (both kinds), for the cycle check. */
  allEdges(): GraphEdge[];
  checkpoint(): GraphCheckpoint | undefined;
  setCheckpoint(checkpoint: GraphCheckpoint): void;
  /** Loads a whole snapshot into an empty store in bulk. */
  bulkLoad(snapshot: GraphSnapshot): void;
  /** Everything, sorted, to compare two builds. */
  dump(): GraphSnapshot;
  clear(): void;
  close(): void;
}

export const sortSnapshot = (snapshot: GraphSnapshot): GraphSnapshot => ({
  tasks: [...snapshot.tasks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  edges: [...snapshot.edges].sort((a, b) => compareKeys(a.taskId, a.dependsOn, b.taskId, b.dependsOn)),
  children: [...snapshot.children].sort((a, b) => compareKeys(a.taskId, a.parentId, b.taskId, b.parentId)),
  links: [...snapshot.links].sort((a, b) => compareKeys(a.taskId, a.target, b.taskId, b.target) || compareKeys(a.kind, '', b.kind, '')),
});

const compareKeys = (a1: string, a2: string, b1: string, b2: string): number => (a1 < b1 ? -1 : a1 > b1 ? 1 : a2 < b2 ? -1 : a2 > b2 ? 1 : 0);
