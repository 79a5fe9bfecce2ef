/**
 * The dashboard's first render (issue 16's target: < 1.5 s with 1,000 tasks in headless Chromium). A real server
 * with one project of 1,000 tasks (a tree of fan-out 10, ~600 dependencies), and Debian's chromium driven by
 * playwright-core: each rep opens `/#view=board&project=…` in a fresh profile with the token already in the tab's
 * sessionStorage (as after sign-in), and reads the page's own mark `vespera:first-render`, taken when the board
 * shows every task — time from navigation start, so HTML, modules, who-am-I, five pages of tasks and the DOM are in
 * it. Also: the same with a warm cache (a reload), and the time the graph view takes to lay out and draw them all.
 * `npm run bench -- peopleDashboard [--quick]`.
 */
import fs from 'node:fs';
import { chromiumInstalled, CHROMIUM, launchBrowser } from '../test/support/browser.js';
import { below, info, lastSetup, makeTree, median, meta, nowMs, round, setupOf, startApp, type BenchOptions, type Result } from './lib.js';

const TASKS = 1000;
const PROJECT = 'dash';

export const run = async (opts: BenchOptions): Promise<Result> => {
  if (!chromiumInstalled()) throw new Error(`${CHROMIUM} is missing (.ci/run installs Debian's chromium); this bench never downloads a browser`);
  const app = await startApp({ vectors: 'off' }, true);
  try {
    await app.commands.createProject({ projectId: PROJECT, name: 'Dashboard bench' }, meta());
    const tree = await app.commands.createTaskTree({ projectId: PROJECT, root: makeTree(TASKS, 'dashboard task') }, meta());
    const ids = tree.taskIds;
    // Siblings in runs of three wait on the one before: dependencies the graph must draw, none on an ancestor.
    let position = tree.position;
    let dependencies = 0;
    for (let i = 2; i < ids.length; i++) {
      if (i % 10 === 1 || i % 3 === 0) continue;
      position = (await app.commands.addDependency(ids[i]!, ids[i - 1]!, 'hard', meta())).position;
      dependencies++;
    }
    await app.projector.waitFor(position, 60_000);
    const token = fs.readFileSync(app.adminTokenFile, 'utf8').trim();
    const url = `${app.baseUrl}/#view=board&project=${PROJECT}`;

    const cold: number[] = [];
    const warm: number[] = [];
    const graph: number[] = [];
    let cards = 0;
    const reps = opts.quick ? 2 : Math.max(opts.reps, 5);
    for (let r = 0; r < reps; r++) {
      const browser = await launchBrowser();
      try {
        await browser.context.addInitScript(`sessionStorage.setItem('vespera.token', ${JSON.stringify(token)})`);
        const page = browser.page;
        const firstRender = async () => {
          await page.waitForSelector('body[data-rendered=board]', { timeout: 30_000 });
          return page.evaluate<number>("performance.getEntriesByName('vespera:first-render')[0].startTime");
        };
        await page.goto(url);
        cold.push(await firstRender());
        cards = await page.locator('#board .card').count();
        await page.reload();
        warm.push(await firstRender());
        const started = nowMs();
        await page.click('#views button[data-view=graph]');
        await page.waitForSelector('#graph-canvas[data-critical]', { timeout: 60_000 });
        graph.push(nowMs() - started);
      } finally {
        await browser.close();
      }
    }
    if (cards !== TASKS) throw new Error(`the board showed ${cards} cards, not ${TASKS}`);
    const figures = { firstRenderColdMs: round(median(cold), 0), firstRenderWarmMs: round(median(warm), 0), graphDrawMs: round(median(graph), 0) };
    return {
      name: 'peopleDashboard',
      setup: `${TASKS.toLocaleString('en-US')} tasks and ${dependencies} dependencies in one project, ${setupOf(lastSetup(), 'HTTP + the feed from headless Chromium (Debian, playwright-core)')}; fresh profile per rep; median of ${reps}`,
      rows: [
        below('dashboard first render, 1,000 tasks (cold cache)', figures.firstRenderColdMs, 1500, 'ms'),
        info('  per rep', cold.map((v) => round(v, 0)).join(' / '), 'ms'),
        info('first render after a reload (warm cache)', figures.firstRenderWarmMs, 'ms'),
        info('graph view: 1,000 nodes laid out (dagre) and drawn', figures.graphDrawMs, 'ms'),
      ],
      figures,
    };
  } finally {
    await app.close();
  }
};
