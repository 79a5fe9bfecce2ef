import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { getProject, type ProjectView } from './projects.js';
import type { DependencyKind, LinkKind, Priority, TaskStatus } from '../events/vocabulary.js';

/** A task as an export needs it: its fields, place in the tree and times. */
export type SnapshotTask = {
  id: string;
  parentId: string | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: Priority;
  tags: string[];
  estimate: number | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
};

/** A whole project at once, tasks in creation order: what the interchange formats write out. */
export type ProjectSnapshot = {
  project: ProjectView;
  tasks: SnapshotTask[];
  dependencies: Array<{ taskId: string; dependsOn: string; kind: DependencyKind }>;
  links: Array<{ taskId: string; kind: LinkKind; target: string }>;
};

type Row = Omit<SnapshotTask, 'tags' | 'metadata' | 'parentId' | 'createdAt' | 'updatedAt'> & {
  parent_id: string | null;
  tags: string;
  metadata: string;
  created_at: string;
  updated_at: string;
};

export const getProjectSnapshot = (db: Database.Database, projectId: string): ProjectSnapshot => {
  const project = getProject(db, projectId);
  const rows = prepared<[string], Row>(
    db,
    'SELECT id, parent_id, title, description, status, priority, tags, estimate, metadata, created_at, updated_at FROM tasks WHERE project_id = ? ORDER BY seq',
  ).all(projectId);
  const tasks = rows.map((r) => ({
    id: r.id,
    parentId: r.parent_id,
    title: r.title,
    description: r.description,
    status: r.status,
    priority: r.priority,
    tags: JSON.parse(r.tags) as string[],
    estimate: r.estimate,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
  const dependencies = prepared<[string], { taskId: string; dependsOn: string; kind: DependencyKind }>(
    db,
    'SELECT task_id AS taskId, depends_on AS dependsOn, kind FROM dependencies WHERE project_id = ? ORDER BY task_id, depends_on',
  ).all(projectId);
  const links = prepared<[string], { taskId: string; kind: LinkKind; target: string }>(
    db,
    'SELECT task_id AS taskId, kind, target FROM task_links WHERE project_id = ? ORDER BY task_id, kind, target',
  ).all(projectId);
  return { project, tasks, dependencies, links };
};
