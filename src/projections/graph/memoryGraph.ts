import {
  withMove,
  type GraphEdge,
  type GraphLink,
  type GraphSnapshot,
  type GraphStatusMove,
  type GraphTask,
  type GraphWriter,
} from './graphStore.js';

/** The graph folded in memory: what a rebuild builds before one bulk load. */
export class MemoryGraph implements GraphWriter {
  private readonly tasks = new Map<string, GraphTask>();
  private readonly parents = new Map<string, string>();
  private readonly children = new Map<string, Set<string>>();
  private readonly edges = new Map<string, GraphEdge>();
  /** Keys of the edges touching each task, so a delete does not scan every edge. */
  private readonly touching = new Map<string, Set<string>>();
  private readonly links = new Map<string, GraphLink>();
  /** Keys of the links touching each task, likewise. */
  private readonly linksTouching = new Map<string, Set<string>>();

  getTask(id: string): GraphTask | undefined {
    return this.tasks.get(id);
  }

  upsertTask(task: GraphTask): void {
    this.tasks.set(task.id, { ...task, files: [...task.files] });
  }

  moveTasks(moves: readonly GraphStatusMove[]): void {
    for (const move of moves) {
      const task = this.tasks.get(move.id);
      if (task) this.tasks.set(move.id, withMove(task, move));
    }
  }

  insertTasks(tasks: readonly (GraphTask & { parentId: string | null })[]): void {
    for (const { parentId, ...task } of tasks) {
      this.upsertTask(task);
      if (parentId !== null) this.setParent(task.id, parentId);
    }
  }

  setParent(id: string, parentId: string | null): void {
    const old = this.parents.get(id);
    if (old !== undefined) this.children.get(old)?.delete(id);
    if (parentId === null || !this.tasks.has(parentId)) this.parents.delete(id);
    else {
      this.parents.set(id, parentId);
      let set = this.children.get(parentId);
      if (!set) this.children.set(parentId, (set = new Set()));
      set.add(id);
    }
    const base = parentId === null ? 0 : (this.tasks.get(parentId)?.depth ?? -1) + 1;
    const stack: Array<[string, number]> = [[id, base]];
    while (stack.length > 0) {
      const [at, depth] = stack.pop()!;
      const task = this.tasks.get(at);
      if (task) task.depth = depth;
      for (const child of this.children.get(at) ?? []) stack.push([child, depth + 1]);
    }
  }

  deleteTask(id: string): void {
    this.tasks.delete(id);
    const parent = this.parents.get(id);
    if (parent !== undefined) this.children.get(parent)?.delete(id);
    this.parents.delete(id);
    for (const child of this.children.get(id) ?? []) this.parents.delete(child);
    this.children.delete(id);
    for (const key of this.touching.get(id) ?? []) this.edges.delete(key);
    this.touching.delete(id);
    for (const key of this.linksTouching.get(id) ?? []) this.links.delete(key);
    this.linksTouching.delete(id);
  }

  upsertEdge(edge: GraphEdge): void {
    if (!this.tasks.has(edge.taskId) || !this.tasks.has(edge.dependsOn)) return;
    const key = `${edge.taskId}\u0000${edge.dependsOn}`;
    this.edges.set(key, { ...edge });
    for (const id of [edge.taskId, edge.dependsOn]) {
      let keys = this.touching.get(id);
      if (!keys) this.touching.set(id, (keys = new Set()));
      keys.add(key);
    }
  }

  deleteEdge(taskId: string, dependsOn: string): void {
    this.edges.delete(`${taskId}\u0000${dependsOn}`);
  }

  upsertLink(link: GraphLink): void {
    if (!this.tasks.has(link.taskId) || !this.tasks.has(link.target)) return;
    const key = linkKey(link);
    this.links.set(key, { ...link });
    for (const id of [link.taskId, link.target]) {
      let keys = this.linksTouching.get(id);
      if (!keys) this.linksTouching.set(id, (keys = new Set()));
      keys.add(key);
    }
  }

  deleteLink(link: GraphLink): void {
    this.links.delete(linkKey(link));
  }

  snapshot(): GraphSnapshot {
    return {
      tasks: [...this.tasks.values()],
      edges: [...this.edges.values()],
      children: [...this.parents].map(([taskId, parentId]) => ({ taskId, parentId })),
      links: [...this.links.values()],
    };
  }
}

const linkKey = (link: GraphLink) => `${link.taskId}\u0000${link.kind}\u0000${link.target}`;
