import type { SnapshotCodec } from '../handler.js';
import type { DependencyKind, TaskStatus } from '../../events/vocabulary.js';
import type { ProjectState, TaskNode } from './project.js';

/**
 * The Project state as a snapshot (commands/handler.ts takes one every few thousand events): plain arrays in place of
 * maps and sets. Bump `PROJECT_SNAPSHOT_VERSION` with any change to ProjectState's shape or to what `evolve` folds
 * into it — older snapshots are then ignored and each project is folded from its first event once, and snapshotted again.
 */
export const PROJECT_SNAPSHOT_VERSION = 1;

type EncodedTask = [
  id: string,
  parentId: string | null,
  children: string[],
  openChildren: number,
  depth: number,
  status: TaskStatus,
  deps: Array<[string, DependencyKind]>,
  dependents: string[],
  links: string[],
  linkedFrom: string[],
  ord: number,
  version: number,
  fields: TaskNode['fields'],
  role: string | null,
  lease: TaskNode['lease'],
  createdAt: string,
];

type EncodedProject = {
  status: ProjectState['status'];
  projectId: string;
  name: string;
  revision: number;
  nextOrd: number;
  scheduleVersion: number;
  tasks: EncodedTask[];
  marks: Array<[string, Array<[string, string | null]>]>;
  ready: string[];
  leased: string[];
};

const encode = (state: ProjectState): EncodedProject => ({
  status: state.status,
  projectId: state.projectId,
  name: state.name,
  revision: state.revision,
  nextOrd: state.nextOrd,
  scheduleVersion: state.scheduleVersion,
  tasks: [...state.tasks.values()].map((t) => [
    t.id,
    t.parentId,
    [...t.children],
    t.openChildren,
    t.depth,
    t.status,
    [...t.deps],
    [...t.dependents],
    [...t.links],
    [...t.linkedFrom],
    t.ord,
    t.version,
    t.fields,
    t.role,
    t.lease,
    t.createdAt,
  ]),
  marks: [...state.marks].map(([key, marks]) => [key, [...marks].map(([file, mark]) => [file, mark.expiresAt])]),
  ready: [...state.ready],
  leased: [...state.leased],
});

const decode = (encoded: unknown): ProjectState => {
  const p = encoded as EncodedProject;
  const tasks = new Map<string, TaskNode>();
  for (const [
    id,
    parentId,
    children,
    openChildren,
    depth,
    status,
    deps,
    dependents,
    links,
    linkedFrom,
    ord,
    version,
    fields,
    role,
    lease,
    createdAt,
  ] of p.tasks) {
    tasks.set(id, {
      id,
      parentId,
      children: new Set(children),
      openChildren,
      depth,
      status,
      deps: new Map(deps),
      dependents: new Set(dependents),
      links: new Set(links),
      linkedFrom: new Set(linkedFrom),
      ord,
      version,
      fields,
      role,
      lease,
      createdAt,
    });
  }
  return {
    status: p.status,
    projectId: p.projectId,
    name: p.name,
    revision: p.revision,
    tasks,
    nextOrd: p.nextOrd,
    scheduleVersion: p.scheduleVersion,
    marks: new Map(p.marks.map(([key, marks]) => [key, new Map(marks.map(([file, expiresAt]) => [file, { expiresAt }]))])),
    ready: new Set(p.ready),
    // Every member re-enters the rank order on the first claim (readiness.ts sorts afresh when it has none).
    readyAdded: { ids: [], overflow: true },
    leased: new Set(p.leased),
  };
};

export const projectSnapshotCodec: SnapshotCodec<ProjectState> = { version: PROJECT_SNAPSHOT_VERSION, encode, decode };
