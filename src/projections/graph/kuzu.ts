import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kuzu, { type KuzuValue, type PreparedStatement, type QueryResult } from 'kuzu';
import type {
  GraphCheckpoint,
  GraphDirection,
  GraphEdge,
  GraphLink,
  GraphQueryParams,
  GraphQueryResult,
  GraphSnapshot,
  GraphStatusMove,
  GraphStore,
  GraphTask,
  JsonValue,
  Reached,
} from './graphStore.js';
import { GraphQueryError, sortSnapshot } from './graphStore.js';

type Row = Record<string, KuzuValue>;

const SCHEMA = [
  `CREATE NODE TABLE IF NOT EXISTS Task(id STRING PRIMARY KEY, project STRING, title STRING, status STRING, priority STRING,
    estimate DOUBLE, role STRING, files STRING[], claimedBy STRING, depth INT64, createdSeq INT64)`,
  'CREATE REL TABLE IF NOT EXISTS DEPENDS_ON(FROM Task TO Task, kind STRING)',
  'CREATE REL TABLE IF NOT EXISTS CHILD_OF(FROM Task TO Task)',
  'CREATE REL TABLE IF NOT EXISTS LINKED(FROM Task TO Task, kind STRING)',
  'CREATE NODE TABLE IF NOT EXISTS Checkpoint(name STRING PRIMARY KEY, position INT64, version INT64)',
];

/** Longest dependency chain a traversal follows; kuzu stops variable-length paths at 30 hops unless raised. */
export const MAX_TRAVERSAL_DEPTH = 10_000;

const TASK_COLUMNS =
  't.id AS id, t.project AS project, t.title AS title, t.status AS status, t.priority AS priority, t.estimate AS estimate, t.role AS role, t.files AS files, t.claimedBy AS claimedBy, t.depth AS depth, t.createdSeq AS createdSeq';

const Q = {
  // An empty list binds as null: `files` reads back as [] either way (see toTask).
  upsertTask: `MERGE (t:Task {id: $id}) SET t.project = $project, t.title = $title, t.status = $status, t.priority = $priority,
    t.estimate = $estimate, t.role = $role, t.files = $files, t.claimedBy = $claimedBy, t.depth = $depth, t.createdSeq = $createdSeq`,
  getTask: `MATCH (t:Task {id: $id}) RETURN ${TASK_COLUMNS}`,
  unlinkParent: 'MATCH (t:Task {id: $id})-[r:CHILD_OF]->(:Task) DELETE r',
  linkParent: 'MATCH (c:Task {id: $id}), (p:Task {id: $parentId}) MERGE (c)-[:CHILD_OF]->(p)',
  setDepth: 'MATCH (t:Task {id: $id}) SET t.depth = $depth',
  setSubtreeDepth: `MATCH (d:Task)-[r:CHILD_OF*1..${MAX_TRAVERSAL_DEPTH}]->(t:Task {id: $id}) SET d.depth = $depth + length(r)`,
  deleteTask: 'MATCH (t:Task {id: $id}) DETACH DELETE t',
  upsertEdge: 'MATCH (a:Task {id: $taskId}), (b:Task {id: $dependsOn}) MERGE (a)-[r:DEPENDS_ON]->(b) SET r.kind = $kind',
  deleteEdge: 'MATCH (a:Task {id: $taskId})-[r:DEPENDS_ON]->(b:Task {id: $dependsOn}) DELETE r',
  upsertLink: 'MATCH (a:Task {id: $taskId}), (b:Task {id: $target}) MERGE (a)-[:LINKED {kind: $kind}]->(b)',
  deleteLink: 'MATCH (a:Task {id: $taskId})-[r:LINKED]->(b:Task {id: $target}) WHERE r.kind = $kind DELETE r',
  projectTasks: `MATCH (t:Task) WHERE t.project = $project OPTIONAL MATCH (t)-[:CHILD_OF]->(p:Task)
    RETURN ${TASK_COLUMNS}, p.id AS parentId`,
  projectEdges: 'MATCH (a:Task)-[r:DEPENDS_ON]->(b:Task) WHERE a.project = $project RETURN a.id AS taskId, b.id AS dependsOn, r.kind AS kind',
  dependencies: `MATCH (s:Task {id: $id})-[r:DEPENDS_ON* SHORTEST 1..${MAX_TRAVERSAL_DEPTH}]->(d:Task) WHERE length(r) <= $maxDepth RETURN d.id AS id, length(r) AS distance`,
  dependents: `MATCH (s:Task {id: $id})<-[r:DEPENDS_ON* SHORTEST 1..${MAX_TRAVERSAL_DEPTH}]-(d:Task) WHERE length(r) <= $maxDepth RETURN d.id AS id, length(r) AS distance`,
  path: `MATCH (a:Task {id: $from})-[r:DEPENDS_ON* SHORTEST 1..${MAX_TRAVERSAL_DEPTH}]->(b:Task {id: $to}) RETURN properties(nodes(r), 'id') AS inner LIMIT 1`,
  allEdges: 'MATCH (a:Task)-[r:DEPENDS_ON]->(b:Task) RETURN a.id AS taskId, b.id AS dependsOn, r.kind AS kind',
  allTasks: `MATCH (t:Task) RETURN ${TASK_COLUMNS}`,
  allChildren: 'MATCH (c:Task)-[:CHILD_OF]->(p:Task) RETURN c.id AS taskId, p.id AS parentId',
  allLinks: 'MATCH (a:Task)-[r:LINKED]->(b:Task) RETURN a.id AS taskId, r.kind AS kind, b.id AS target',
  checkpoint: "MATCH (c:Checkpoint {name: 'graph'}) RETURN c.position AS position, c.version AS version",
  // Kuzu cannot bind a null inside a list of structs: estimate -1 and role '' stand for none (see toTask).
  // CREATE, not MERGE (three times faster): new tasks are applied exactly once, under the checkpoint's transaction.
  // A new task is never claimed (claimedBy stays null); files follow in setFiles, as an empty list cannot be typed there.
  insertTasks: `UNWIND $rows AS r CREATE (t:Task {id: r.id, project: r.project, title: r.title, status: r.status, priority: r.priority,
    estimate: r.estimate, role: r.role, depth: r.depth, createdSeq: r.createdSeq})`,
  // Matching the parent first and merging the child under it is the fast shape: a join on both ids scans.
  insertChildren: `UNWIND $rows AS r MATCH (p:Task {id: r.parentId}) CREATE (t:Task {id: r.id, project: r.project, title: r.title,
    status: r.status, priority: r.priority, estimate: r.estimate, role: r.role, depth: r.depth, createdSeq: r.createdSeq})-[:CHILD_OF]->(p)`,
  /** Rows with at least one file each. */
  setFiles: 'UNWIND $rows AS r MATCH (t:Task {id: r.id}) SET t.files = r.files',
  setCheckpoint: "MERGE (c:Checkpoint {name: 'graph'}) SET c.position = $position, c.version = $version",
  // Kuzu cannot bind a null inside a list of structs, nor branch on a boolean field of one: `claim` and `roleOp` say
  // 'keep' (the stored value), 'none' (null) or 'set' (the row's value); an empty status keeps the stored one.
  moveTasks: `UNWIND $rows AS r MATCH (t:Task {id: r.id}) SET t.status = CASE WHEN r.status = '' THEN t.status ELSE r.status END,
    t.claimedBy = CASE WHEN r.claim = 'keep' THEN t.claimedBy WHEN r.claim = 'none' THEN CAST(NULL AS STRING) ELSE r.claimedBy END,
    t.role = CASE WHEN r.roleOp = 'keep' THEN t.role WHEN r.roleOp = 'none' THEN CAST(NULL AS STRING) ELSE r.role END`,
} as const;

/** Kuzu (embedded) behind GraphStore: prepared statements only, every result closed before the next call. */
export class KuzuGraphStore implements GraphStore {
  readonly kind = 'kuzu';
  private readonly statements = new Map<string, PreparedStatement>();
  private inTransaction = false;
  private closed = false;
  /** The connection callers' queries run on (graph_query), made on first use: its timeout never touches the projection's. */
  private reader: kuzu.Connection | undefined;

  private constructor(
    private readonly db: kuzu.Database,
    private readonly conn: kuzu.Connection,
  ) {}

  /** Opens (or creates) the database directory/file at `file`; `readOnly` opens an existing one without writing (verify). */
  static open(file: string, { readOnly = false } = {}): KuzuGraphStore {
    if (!readOnly) fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new kuzu.Database(file, 0, true, readOnly);
    db.initSync();
    const conn = new kuzu.Connection(db);
    conn.initSync();
    const store = new KuzuGraphStore(db, conn);
    store.exec(`CALL var_length_extend_max_depth=${MAX_TRAVERSAL_DEPTH}`);
    if (!readOnly) for (const ddl of SCHEMA) store.exec(ddl);
    return store;
  }

  transaction(work: () => void): void {
    if (this.inTransaction) return work();
    this.exec('BEGIN TRANSACTION');
    this.inTransaction = true;
    try {
      work();
      this.exec('COMMIT');
    } catch (error) {
      this.exec('ROLLBACK');
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  getTask(id: string): GraphTask | undefined {
    const row = this.run(Q.getTask, { id })[0];
    return row ? toTask(row) : undefined;
  }

  upsertTask(task: GraphTask): void {
    this.run(Q.upsertTask, { ...task, files: [...task.files] });
  }

  moveTasks(moves: readonly GraphStatusMove[]): void {
    if (moves.length === 0) return;
    const op = (value: string | null | undefined) => (value === undefined ? 'keep' : value === null ? 'none' : 'set');
    const rows = moves.map((m) => ({
      id: m.id,
      status: m.status ?? '',
      claimedBy: m.claimedBy ?? '',
      claim: op(m.claimedBy),
      role: m.role ?? '',
      roleOp: op(m.role),
    }));
    this.run(Q.moveTasks, { rows });
  }

  setParent(id: string, parentId: string | null): void {
    this.run(Q.unlinkParent, { id });
    const parent = parentId === null ? undefined : this.getTask(parentId);
    if (parentId !== null && parent) this.run(Q.linkParent, { id, parentId });
    const depth = parent ? parent.depth + 1 : 0;
    this.run(Q.setDepth, { id, depth });
    this.run(Q.setSubtreeDepth, { id, depth });
  }

  deleteTask(id: string): void {
    this.run(Q.deleteTask, { id });
  }

  /** One statement per tree level, so every parent exists before its children are merged under it. */
  insertTasks(tasks: readonly (GraphTask & { parentId: string | null })[]): void {
    const levels = new Map<number, (GraphTask & { parentId: string | null })[]>();
    for (const task of tasks) {
      const level = levels.get(task.depth);
      if (level) level.push(task);
      else levels.set(task.depth, [task]);
    }
    for (const depth of [...levels.keys()].sort((a, b) => a - b)) {
      const level = levels.get(depth)!;
      const row = ({ files: _f, claimedBy: _c, ...t }: GraphTask & { parentId: string | null }) => ({
        ...t,
        estimate: t.estimate ?? -1,
        role: t.role ?? '',
      });
      const roots = level.filter((t) => t.parentId === null).map(({ parentId: _p, ...t }) => row({ ...t, parentId: null }));
      const children = level.filter((t) => t.parentId !== null).map(row);
      if (roots.length > 0) this.run(Q.insertTasks, { rows: roots.map(({ parentId: _p, ...t }) => t) } as unknown as Record<string, KuzuValue>);
      if (children.length > 0) this.run(Q.insertChildren, { rows: children } as unknown as Record<string, KuzuValue>);
    }
    this.setFiles(tasks);
  }

  private setFiles(tasks: readonly GraphTask[]): void {
    const rows = tasks.filter((t) => t.files.length > 0).map((t) => ({ id: t.id, files: t.files }));
    for (let i = 0; i < rows.length; i += 10_000) this.run(Q.setFiles, { rows: rows.slice(i, i + 10_000) } as unknown as Record<string, KuzuValue>);
  }

  upsertEdge(edge: GraphEdge): void {
    this.run(Q.upsertEdge, { ...edge });
  }

  deleteEdge(taskId: string, dependsOn: string): void {
    this.run(Q.deleteEdge, { taskId, dependsOn });
  }

  upsertLink(link: GraphLink): void {
    this.run(Q.upsertLink, { ...link });
  }

  deleteLink(link: GraphLink): void {
    this.run(Q.deleteLink, { ...link });
  }

  projectGraph(projectId: string) {
    const tasks = this.run(Q.projectTasks, { project: projectId }).map((row) => ({
      ...toTask(row),
      parentId: (row.parentId as string | null) ?? null,
    }));
    const edges = this.run(Q.projectEdges, { project: projectId }).map(toEdge);
    return { tasks, edges };
  }

  reach(id: string, direction: GraphDirection, maxDepth: number): Reached[] {
    const rows = this.run(direction === 'dependencies' ? Q.dependencies : Q.dependents, { id, maxDepth });
    return rows.map((row) => ({ id: row.id as string, distance: Number(row.distance) }));
  }

  shortestPath(from: string, to: string): string[] | null {
    if (from === to) return null;
    const row = this.run(Q.path, { from, to })[0];
    return row ? [from, ...(row.inner as string[]), to] : null;
  }

  query(cypher: string, params: GraphQueryParams, { maxRows, timeoutMs }: { maxRows: number; timeoutMs: number }): GraphQueryResult {
    if (this.closed) throw new Error('the graph store is closed');
    if (!this.reader) {
      this.reader = new kuzu.Connection(this.db);
      this.reader.initSync();
      drain(this.reader.querySync(`CALL var_length_extend_max_depth=${MAX_TRAVERSAL_DEPTH}`));
    }
    const conn = this.reader;
    conn.setQueryTimeout(timeoutMs);
    drain(conn.querySync('BEGIN TRANSACTION READ ONLY'));
    let results: QueryResult[] = [];
    try {
      const statement = conn.prepareSync(cypher);
      if (!statement.isSuccess()) throw invalid(statement.getErrorMessage());
      try {
        const result = conn.executeSync(statement, params as Record<string, KuzuValue>);
        results = Array.isArray(result) ? result : [result];
      } catch (error) {
        throw invalid((error as Error).message, timeoutMs);
      }
      const last = results.at(-1)!;
      const rows: Record<string, JsonValue>[] = [];
      while (rows.length < maxRows && last.hasNext()) rows.push(jsonRow(last.getNextSync()!));
      return { columns: last.getColumnNamesSync(), rows, truncated: last.hasNext() };
    } finally {
      for (const r of results) r.close();
      // A refused statement ends the transaction itself; then there is nothing to commit.
      try {
        drain(conn.querySync('COMMIT'));
      } catch {
        // no transaction left open
      }
    }
  }

  allEdges(): GraphEdge[] {
    return this.run(Q.allEdges).map(toEdge);
  }

  checkpoint(): GraphCheckpoint | undefined {
    const row = this.run(Q.checkpoint)[0];
    return row ? { position: Number(row.position), version: Number(row.version) } : undefined;
  }

  setCheckpoint(checkpoint: GraphCheckpoint): void {
    this.run(Q.setCheckpoint, { ...checkpoint });
  }

  /** COPY from CSV files written to a private temp directory (kuzu's bulk path; one CREATE per row is far slower). */
  bulkLoad(snapshot: GraphSnapshot): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-graph-'));
    try {
      const copy = (table: string, name: string, rows: ReadonlyArray<ReadonlyArray<string | number | null>>) => {
        if (rows.length === 0) return;
        const file = path.join(dir, name);
        fs.writeFileSync(file, rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n');
        // The path is ours (mkdtemp), never input; COPY takes no parameters, so it is checked before use.
        if (!/^[\w./-]+$/.test(file)) throw new Error(`unexpected temp path ${file}`);
        // Kuzu's parallel CSV reader refuses a newline inside a quoted value (a title may hold one).
        const parallel = rows.some((r) => r.some((v) => typeof v === 'string' && /[\r\n]/.test(v))) ? ', PARALLEL=FALSE' : '';
        this.exec(`COPY ${table} FROM '${file}' (HEADER=false${parallel})`);
      };
      copy(
        'Task',
        'tasks.csv',
        // files (empty here) are set after the COPY: a list in CSV has no escaping a path could trust.
        snapshot.tasks.map((t) => [t.id, t.project, t.title, t.status, t.priority, t.estimate, t.role, null, t.claimedBy, t.depth, t.createdSeq]),
      );
      this.setFiles(snapshot.tasks);
      copy(
        'DEPENDS_ON',
        'edges.csv',
        snapshot.edges.map((e) => [e.taskId, e.dependsOn, e.kind]),
      );
      copy(
        'CHILD_OF',
        'children.csv',
        snapshot.children.map((c) => [c.taskId, c.parentId]),
      );
      copy(
        'LINKED',
        'links.csv',
        snapshot.links.map((l) => [l.taskId, l.target, l.kind]),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  dump(): GraphSnapshot {
    return sortSnapshot({
      tasks: this.run(Q.allTasks).map(toTask),
      edges: this.run(Q.allEdges).map(toEdge),
      children: this.run(Q.allChildren).map((row) => ({ taskId: row.taskId as string, parentId: row.parentId as string })),
      links: this.run(Q.allLinks).map((row) => ({ taskId: row.taskId as string, kind: row.kind as string, target: row.target as string })),
    });
  }

  /** Drops and recreates the tables: much faster than deleting a large graph row by row. */
  clear(): void {
    this.statements.clear();
    for (const table of ['DEPENDS_ON', 'CHILD_OF', 'LINKED', 'Task', 'Checkpoint']) this.exec(`DROP TABLE IF EXISTS ${table}`);
    for (const ddl of SCHEMA) this.exec(ddl);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.reader?.closeSync();
    this.conn.closeSync();
    this.db.closeSync();
  }

  private prepared(cypher: string): PreparedStatement {
    let statement = this.statements.get(cypher);
    if (!statement) {
      statement = this.conn.prepareSync(cypher);
      if (!statement.isSuccess()) throw new Error(`kuzu could not prepare a statement: ${statement.getErrorMessage()}`);
      this.statements.set(cypher, statement);
    }
    return statement;
  }

  private run(cypher: string, params: Record<string, KuzuValue> = {}): Row[] {
    if (this.closed) throw new Error('the graph store is closed');
    return drain(this.conn.executeSync(this.prepared(cypher), params));
  }

  /** Fixed statements only (DDL, transactions, COPY of our own temp file). */
  private exec(cypher: string): Row[] {
    if (this.closed) throw new Error('the graph store is closed');
    return drain(this.conn.querySync(cypher));
  }
}

/** Reads every row and closes every result: an open result at database close crashes the process. */
const drain = (result: QueryResult | QueryResult[]): Row[] => {
  const results = Array.isArray(result) ? result : [result];
  let rows: Row[] = [];
  try {
    for (const r of results) rows = r.getAllSync();
  } finally {
    for (const r of results) r.close();
  }
  return rows;
};

/** Kuzu's message without its echo of the query; an interrupted one is reported as the timeout it was. */
const invalid = (message: string, timeoutMs?: number): GraphQueryError =>
  timeoutMs !== undefined && /interrupt|timeout/i.test(message)
    ? new GraphQueryError('GRAPH_QUERY_TIMEOUT', `The query ran longer than ${timeoutMs} ms and was stopped.`)
    : new GraphQueryError('GRAPH_QUERY_INVALID', message.split('\n')[0]!.slice(0, 1000));

const jsonValue = (value: KuzuValue): JsonValue => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(jsonValue);
  return jsonRow(value as Record<string, KuzuValue>);
};

const jsonRow = (row: Record<string, KuzuValue>): Record<string, JsonValue> =>
  Object.fromEntries(Object.entries(row).map(([key, value]) => [key, jsonValue(value)]));

const csvField = (value: string | number | null): string => {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  return `"${value.replaceAll('"', '""')}"`;
};

const toTask = (row: Row): GraphTask => ({
  id: row.id as string,
  project: row.project as string,
  title: (row.title as string | null) ?? '',
  status: row.status as string,
  priority: row.priority as string,
  estimate: row.estimate === null || row.estimate === undefined || Number(row.estimate) < 0 ? null : Number(row.estimate),
  role: (row.role as string | null) || null,
  files: (row.files as string[] | null) ?? [],
  claimedBy: (row.claimedBy as string | null) || null,
  depth: Number(row.depth),
  createdSeq: Number(row.createdSeq),
});

const toEdge = (row: Row): GraphEdge => ({
  taskId: row.taskId as string,
  dependsOn: row.dependsOn as string,
  kind: row.kind === 'soft' ? 'soft' : 'hard',
});
