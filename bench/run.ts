/**
 * Runs the benches in sequence: `npm run bench [-- name… --quick --json --reps N]`.
 * Prints one table per bench and a summary; with --json the LAST line is one JSON object of all figures.
 */
import { calibrate } from './calibrate.js';
import os from 'node:os';
import { fmt, nowMs, passed, printResult, printTable, round, type BenchOptions, type Result } from './lib.js';

type Bench = { run: (opts: BenchOptions) => Promise<Result> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  tree: () => import('./tree.js'),
  createTask: () => import('./createTask.js'),
  http: () => import('./http.js'),
  visibility: () => import('./visibility.js'),
  getTask: () => import('./getTask.js'),
  cycleCheck: () => import('./cycleCheck.js'),
  rebuild: () => import('./rebuild.js'),
  search: () => import('./search.js'),
  mcp: () => import('./mcp.js'),
  graph: () => import('./graph.js'),
  auth: () => import('./auth.js'),
  claims: () => import('./claims.js'),
  coldStart: () => import('./coldStart.js'),
  audit: () => import('./audit.js'),
  feed: () => import('./feed.js'),
  nodes: () => import('./nodes.js'),
  peopleDashboard: () => import('./peopleDashboard.js'),
  peopleCli: () => import('./peopleCli.js'),
  peopleGraph: () => import('./peopleGraph.js'),
  peopleImport: () => import('./peopleImport.js'),
};

/** Names that stand for several benches: `people` is issue 16's table (CLI, import, dashboard, pictures). */
const GROUPS: Record<string, readonly string[]> = { people: ['peopleCli', 'peopleImport', 'peopleDashboard', 'peopleGraph'] };

const main = async () => {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const json = args.includes('--json');
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps takes a positive integer');
  // Values of options a bench reads itself (feed: --events N).
  const valueOf = new Set(['--reps', '--events']);
  const names = args.filter((a, i) => !a.startsWith('--') && !valueOf.has(args[i - 1] ?? '')).flatMap((n) => GROUPS[n] ?? [n]);
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) throw new Error(`Unknown bench ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  const opts: BenchOptions = { quick, reps };

  const calibration = calibrate();
  console.log(
    `Vespera benchmarks — node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${round(os.totalmem() / 2 ** 30, 1)} GB${quick ? ', QUICK sizes' : ''}, median of ${reps}; calibration ${calibration} ms (bench/calibrate.ts: lower is faster), load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const results: Array<Result & { seconds: number }> = [];
  for (const name of selected) {
    const started = nowMs();
    const bench = await BENCHES[name]!();
    const result = await bench.run(opts);
    const seconds = round((nowMs() - started) / 1000, 1);
    results.push({ ...result, seconds });
    printResult(result);
    console.log(`(${name}: ${seconds} s)`);
  }

  const summary: string[][] = [];
  for (const result of results) {
    for (const row of result.rows.filter((r) => r.target !== undefined)) {
      summary.push([result.name, row.measure.trim(), `${fmt(row.value)}${row.unit ? ` ${row.unit}` : ''}`, row.target!, row.ok ? 'yes' : 'NO']);
    }
  }
  printTable('## Summary', ['bench', 'measure', 'median', 'target', 'ok'], summary);
  const allOk = results.every(passed);
  console.log(
    `\n${
      allOk
        ? 'All targets met.'
        : `Targets missed in: ${results
            .filter((r) => !passed(r))
            .map((r) => r.name)
            .join(', ')}`
    }`,
  );
  if (json) {
    const out = {
      node: process.version,
      cores: os.cpus().length,
      calibrationMs: calibration,
      quick,
      reps,
      ok: allOk,
      benches: Object.fromEntries(results.map((r) => [r.name, { ok: passed(r), seconds: r.seconds, ...r.figures }])),
    };
    console.log(JSON.stringify(out));
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
