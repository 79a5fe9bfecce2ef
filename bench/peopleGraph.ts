/**
 * Pictures of a project's dependency graph (issue 16, target: the SVG of a 1,000-task graph in under 2 s).
 * A project of 1,000 tasks with ~2,000 hard dependencies (each task waits on two earlier ones, mostly near it, as
 * plans are drawn) goes through what GET /projects/:projectId/graph does after loading it: CPM and the picture,
 * then Mermaid, DOT and the SVG laid out by Graphviz in WebAssembly. The first SVG includes making the instance.
 */
import { projectPicture, toDot, toMermaid } from '../src/queries/analytics/picture.js';
import { ProjectIndex } from '../src/queries/analytics/projectIndex.js';
import type { AnalyticsTask } from '../src/queries/analytics/source.js';
import { svgRenderer } from '../src/queries/analytics/svg.js';
import { below, info, medianOf, nowMs, round, spread, type BenchOptions, type Result } from './lib.js';

const seeded = (seed: number) => () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};

const projectOf = (tasks: number): ProjectIndex => {
  const random = seeded(42);
  const list: AnalyticsTask[] = Array.from({ length: tasks }, (_, i) => ({
    id: `0193a1b2-0000-7000-8000-${String(i).padStart(12, '0')}`,
    estimate: i % 7 === 0 ? null : 1 + (i % 5),
    status: i < tasks / 5 ? 'completed' : 'pending',
    createdSeq: i,
    priority: ['low', 'normal', 'high', 'critical'][i % 4]!,
    role: null,
    parentId: null,
  }));
  const edges = new Map<string, { taskId: string; dependsOn: string; kind: 'hard' | 'soft' }>();
  for (let i = 1; i < tasks; i++) {
    for (let k = 0; k < 2; k++) {
      const j = Math.max(0, i - 1 - Math.floor(random() * Math.min(i, 30)));
      if (j !== i) edges.set(`${i}>${j}`, { taskId: list[i]!.id, dependsOn: list[j]!.id, kind: random() < 0.1 ? 'soft' : 'hard' });
    }
  }
  return new ProjectIndex({ projectId: 'bench', tasks: list, edges: [...edges.values()] });
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const tasks = opts.quick ? 200 : 1000;
  const project = projectOf(tasks);
  const titles = new Map(project.tasks.map((t, i) => [t.id, `Task ${i}: wire the "${i % 3 ? 'api' : 'ui'}" <part> & test it`]));
  const render = svgRenderer();
  const runs: Record<string, number>[] = [];
  let bytes = 0;
  for (let rep = 0; rep < opts.reps; rep++) {
    const t0 = nowMs();
    const picture = projectPicture(project, titles, { defaultEstimate: 8, position: 1 });
    const t1 = nowMs();
    const mermaid = toMermaid(picture);
    const t2 = nowMs();
    const dot = toDot(picture);
    const t3 = nowMs();
    const svg = await render(dot, picture.nodes.length);
    const t4 = nowMs();
    bytes = svg.length;
    runs.push({ pictureMs: t1 - t0, mermaidMs: t2 - t1, dotMs: t3 - t2, svgMs: t4 - t3, totalMs: t4 - t0, mermaidBytes: mermaid.length });
  }
  const figures = medianOf(runs);
  const first = runs[0]!;
  return {
    name: 'peopleGraph',
    setup: `${tasks} tasks, ${project.graph.edges.length} dependencies (10% soft), a fifth completed; Graphviz dot via @viz-js/viz (WASM) in-process`,
    rows: [
      info('CPM + picture (json)', round(figures.pictureMs!, 1), 'ms'),
      info('Mermaid text', round(figures.mermaidMs!, 1), 'ms'),
      info('DOT text', round(figures.dotMs!, 1), 'ms'),
      below(`SVG of ${tasks} tasks (median; range ${spread(runs, 'svgMs')})`, round(figures.svgMs!, 0), 2000, 'ms'),
      info('first SVG, instance made, code not warm yet (picture to SVG)', round(first.totalMs!, 0), 'ms'),
      info('SVG size', round(bytes / 1024, 0), 'KiB'),
      info('Mermaid size', round(figures.mermaidBytes! / 1024, 0), 'KiB'),
    ],
    figures,
  };
};
