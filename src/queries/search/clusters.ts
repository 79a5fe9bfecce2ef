import type Database from 'better-sqlite3';
import { notFound } from '../../errors.js';
import { kmeans, topKeywords } from './kmeans.js';
import { rowsById, semanticHits, vectorsUnavailable, type SemanticIndex } from './search.js';

export type TaskCluster = { label: string; keywords: string[]; size: number; taskIds: string[]; titles: string[] };

/** Groups a project's tasks by meaning (k-means over their vectors) and names each group by its top keywords. */
export const clusterTasks = async (db: Database.Database, index: SemanticIndex | undefined, projectId: string, k?: number) => {
  const exists = db.prepare<[string], { id: string }>('SELECT id FROM projects WHERE id = ?').get(projectId);
  if (!exists) throw notFound('PROJECT_NOT_FOUND', `Project ${projectId} does not exist.`, { projectId });
  let vectors = new Map<string, Float32Array>();
  const semantic = await semanticHits(index, async (i) => {
    vectors = await i.vectors(projectId);
    return [];
  });
  if (semantic.reason) throw vectorsUnavailable(semantic.reason);
  const rows = rowsById(db, [...vectors.keys()]);
  const ids = [...vectors.keys()].filter((id) => rows.has(id)).sort((a, b) => rows.get(a)!.seq - rows.get(b)!.seq);
  const count = Math.max(1, Math.min(k ?? Math.round(Math.sqrt(ids.length / 2)), 20, ids.length));
  const assignment = kmeans(
    ids.map((id) => vectors.get(id)!),
    count,
  );
  const text = (id: string) => `${rows.get(id)!.title} ${(JSON.parse(rows.get(id)!.tags) as string[]).join(' ')}`;
  const all = ids.map(text);
  const clusters: TaskCluster[] = [];
  for (let c = 0; c < count; c++) {
    const members = ids.filter((_, i) => assignment[i] === c);
    if (members.length === 0) continue;
    const keywords = topKeywords(members.map(text), all);
    clusters.push({
      label: keywords.join(' / ') || 'misc',
      keywords,
      size: members.length,
      taskIds: members.slice(0, 100),
      titles: members.slice(0, 5).map((id) => rows.get(id)!.title),
    });
  }
  clusters.sort((a, b) => b.size - a.size);
  return { projectId, tasks: ids.length, k: clusters.length, clusters };
};
