/**
 * Import of a Taskmaster tasks.json over HTTP (issue 16: 10,000 tasks with 20,000 dependencies in under 5 s): the POST
 * answers once the project is in the SQLite read model. Also the dry run, the second import of the same file (which
 * changes nothing) and the export of the project back to Taskmaster and Beads.
 */
import fs from 'node:fs';
import { below, info, medianOf, nowMs, round, setupOf, lastSetup, spread, startApp, type BenchOptions, type Result } from './lib.js';

/** `tops` tasks with `perTask` subtasks each; every task and subtask depends on two earlier ones (acyclic by construction): two per task. */
export const taskmasterFile = (tops: number, perTask: number): { text: string; tasks: number; dependencies: number } => {
  let dependencies = 0;
  const tasks = Array.from({ length: tops }, (_, t) => {
    const id = t + 1;
    const deps = id > 2 ? [id - 1, Math.max(1, Math.floor(id / 2))] : id === 2 ? [1] : [];
    dependencies += deps.length;
    const subtasks = Array.from({ length: perTask }, (_, s) => {
      const sub = s + 1;
      // A sibling by its relative number, and a subtask of an earlier task by its dotted id.
      // The first step also waits for the previous task itself (a string: a task, not a sibling).
      const refs: Array<number | string> = [...(sub > 1 ? [sub - 1] : id > 1 ? [String(id - 1)] : []), ...(id > 1 ? [`${id - 1}.${sub}`] : [])];
      dependencies += refs.length;
      return {
        id: sub,
        title: `Step ${sub} of task ${id}`,
        description: `Do step ${sub} of the work for task ${id}.`,
        status: sub === 1 && id % 3 === 0 ? 'done' : 'pending',
        dependencies: refs,
        details: `Notes for step ${sub}: what to change, where, and how to check it. `.repeat(2),
        testStrategy: 'Unit tests for the new code; the suite stays green.',
      };
    });
    return {
      id,
      title: `Task ${id}: part of the big plan`,
      description: `The ${id}th piece of work in a plan of ${tops} tasks.`,
      status: ['pending', 'in-progress', 'review', 'done', 'deferred', 'cancelled', 'blocked'][id % 7],
      dependencies: deps,
      priority: ['low', 'medium', 'high', 'critical'][id % 4],
      details: `Implementation notes for task ${id}. `.repeat(4),
      testStrategy: `How task ${id} is verified.`,
      subtasks,
    };
  });
  // The first tasks have fewer earlier ones to wait for: the last task makes up the difference, so the file holds exactly two per task.
  const last = tasks.at(-1)!;
  for (let extra = 3; dependencies < tasks.length * (1 + perTask) * 2 && extra < last.id; extra++) {
    if (last.dependencies.includes(extra)) continue;
    last.dependencies.push(extra);
    dependencies += 1;
  }
  return { text: JSON.stringify({ master: { tasks, metadata: { description: 'Bench plan' } } }, null, 2), tasks: tops * (1 + perTask), dependencies };
};

const post = async (baseUrl: string, token: string, path: string, body: unknown) => {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  return answer as { projects: Array<{ tasks: { created: number; unchanged: number }; dependencies: { added: number } }> };
};

const once = async (file: ReturnType<typeof taskmasterFile>) => {
  const app = await startApp({ sync: 'full', rateLimitPerMinute: 0 }, true);
  try {
    const token = fs.readFileSync(app.adminTokenFile, 'utf8').trim();
    const get = async (path: string) => {
      const response = await fetch(`${app.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
      return text;
    };
    let t0 = nowMs();
    await post(app.baseUrl, token, '/api/v1/import/taskmaster', { content: file.text, dryRun: true });
    const dryMs = nowMs() - t0;
    t0 = nowMs();
    const first = await post(app.baseUrl, token, '/api/v1/import/taskmaster', { content: file.text });
    const importMs = nowMs() - t0;
    if (first.projects[0]!.tasks.created !== file.tasks || first.projects[0]!.dependencies.added !== file.dependencies) {
      throw new Error(`imported ${JSON.stringify(first.projects[0])}, expected ${file.tasks} tasks and ${file.dependencies} dependencies`);
    }
    t0 = nowMs();
    const again = await post(app.baseUrl, token, '/api/v1/import/taskmaster', { content: file.text });
    const againMs = nowMs() - t0;
    if (again.projects[0]!.tasks.unchanged !== file.tasks) throw new Error('the second import changed something');
    t0 = nowMs();
    await get('/api/v1/projects/master/export?format=taskmaster');
    const exportTaskmasterMs = nowMs() - t0;
    t0 = nowMs();
    await get('/api/v1/projects/master/export?format=beads');
    const exportBeadsMs = nowMs() - t0;
    // Outside the measure: the graph read model (Kuzu, its own thread) follows far behind; stopping it mid-batch is not what this measures.
    t0 = nowMs();
    const head = (await app.store.stats()).headPosition;
    await app.graph.projector.waitFor(head, 600_000);
    const graphMs = nowMs() - t0 + importMs;
    return { importMs, dryMs, againMs, exportTaskmasterMs, exportBeadsMs, graphMs };
  } finally {
    await app.close();
  }
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const file = opts.quick ? taskmasterFile(400, 4) : taskmasterFile(2000, 4);
  const runs: Array<Record<string, number>> = [];
  for (let i = 0; i < opts.reps; i++) runs.push(await once(file));
  const m = medianOf(runs);
  const label = `${file.tasks.toLocaleString('en-US')} tasks, ${file.dependencies.toLocaleString('en-US')} dependencies`;
  return {
    name: 'peopleImport: Taskmaster import over HTTP (answered once the SQLite read model shows it)',
    setup: `${setupOf(lastSetup(), 'REST')}; ${label}, file ${round(file.text.length / 1048576, 1)} MB`,
    rows: [
      opts.quick ? info(`import ${label} (ms)`, round(m.importMs!, 0)) : below(`import ${label} (ms)`, round(m.importMs!, 0), 5000),
      info('  spread of the import (ms)', spread(runs, 'importMs')),
      info('dry run of the same file (ms)', round(m.dryMs!, 0)),
      info('second import, nothing to change (ms)', round(m.againMs!, 0)),
      info('export to Taskmaster (ms)', round(m.exportTaskmasterMs!, 0)),
      info('export to Beads (ms)', round(m.exportBeadsMs!, 0)),
      info('graph read model (Kuzu) caught up, from the POST (ms)', round(m.graphMs!, 0)),
    ],
    figures: m,
  };
};
