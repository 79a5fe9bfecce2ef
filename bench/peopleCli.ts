/**
 * `vespera ready --json` as a person (or a script) runs it: a new process per call against a running server. The
 * server is `vespera serve` in its own process on a temp dir, seeded with 10,000 tasks (create_task_tree over REST,
 * 1,000-task trees of fanout 10, so about 9,000 leaves are ready); the CLI finds it through server.json and the
 * admin token, like any shell would. Wall time is spawn to exit, for `node bin/vespera.js` (a checkout: tsx runs the
 * sources) and, when `npm run build` has left dist/cli.js, for `node dist/cli.js` (an installed package). The floor
 * is `node -e 0`, and one GET /tasks/ready from this process says how much of it is the server.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { below, info, makeTree, nowMs, percentile, round, sleep, tempDir, type BenchOptions, type Result, type Row } from './lib.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TREE_SIZE = 1000;

/** An environment without the caller's VESPERA_* settings, plus these. */
const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_'))),
  ...extra,
});

const exec = (args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> =>
  new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: nowMs() - started }));
  });

/** `vespera serve` on `dataDir`, ready once it announces itself in server.json and /health answers. */
const serve = async (dataDir: string) => {
  const child = spawn(process.execPath, ['bin/vespera.js', 'serve'], {
    cwd: REPO,
    env: cleanEnv({ VESPERA_DATA_DIR: dataDir, VESPERA_PORT: '0', VESPERA_VECTORS: 'off', VESPERA_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`vespera serve exited (${code})`))));
  exited.catch(() => {});
  const deadline = Date.now() + 120_000;
  const ready = async () => {
    for (;;) {
      if (Date.now() > deadline) throw new Error('vespera serve did not announce itself in server.json');
      try {
        const { url } = JSON.parse(fs.readFileSync(path.join(dataDir, 'server.json'), 'utf8')) as { url: string };
        if ((await fetch(`${url}/health`)).ok) return url;
      } catch {
        // not yet
      }
      await sleep(100);
    }
  };
  const url = await Promise.race([ready(), exited]);
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  return {
    url,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
};

/** Wall times of `runs` calls (after one warm-up, which also fills tsx's compile cache), each checked for its answer. */
const time = async (args: string[], env: NodeJS.ProcessEnv, runs: number, check: (stdout: string) => void) => {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const result = await exec(args, env);
    if (result.code !== 0) throw new Error(`node ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    check(result.stdout);
    if (i > 0) samples.push(result.ms);
  }
  return { p50: round(percentile(samples, 50), 1), p99: round(percentile(samples, 99), 1) };
};

export const run = async (opts: BenchOptions): Promise<Result> => {
  const tasks = opts.quick ? 2_000 : 10_000;
  const runs = opts.quick ? 5 : 20;
  const { dir, remove } = tempDir('people-cli');
  const server = await serve(dir);
  try {
    const seedStart = nowMs();
    for (let i = 0; i < tasks / TREE_SIZE; i++) {
      const response = await fetch(`${server.url}/api/v1/tasks/tree`, {
        method: 'POST',
        headers: server.headers,
        body: JSON.stringify({ root: makeTree(TREE_SIZE, `chunk ${i}`) }),
      });
      if (response.status !== 201) throw new Error(`create_task_tree answered ${response.status}: ${await response.text()}`);
    }
    const seedSeconds = round((nowMs() - seedStart) / 1000, 1);

    const restSamples: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = nowMs();
      const response = await fetch(`${server.url}/api/v1/tasks/ready`, { headers: server.headers });
      await response.json();
      restSamples.push(nowMs() - t0);
    }

    const env = cleanEnv({ VESPERA_DATA_DIR: dir });
    const check = (stdout: string) => {
      const answer = JSON.parse(stdout) as { items: unknown[] };
      if (answer.items.length !== 20) throw new Error(`ready --json listed ${answer.items.length} tasks, expected a page of 20`);
    };
    const node = await time(['-e', '0'], env, runs, () => {});
    const tsx = await time(['bin/vespera.js', 'ready', '--json'], env, runs, check);
    const built = fs.existsSync(path.join(REPO, 'dist/cli.js'));
    const dist = built ? await time(['dist/cli.js', 'ready', '--json'], env, runs, check) : undefined;

    const target = 300;
    const rows: Row[] = [
      info('tasks in the server', tasks),
      info('seeding (create_task_tree, 1,000 a request)', seedSeconds, 's'),
      info('GET /tasks/ready from a warm client, p50', round(percentile(restSamples, 50), 1), 'ms'),
      info('node -e 0 (the floor), p50', node.p50, 'ms'),
      ...(dist
        ? [
            below('vespera ready --json, built dist (node dist/cli.js), p50', dist.p50, target, 'ms'),
            info('vespera ready --json, built dist, p99', dist.p99, 'ms'),
            info('vespera ready --json, checkout (bin/vespera.js → tsx), p50', tsx.p50, 'ms'),
          ]
        : [below('vespera ready --json, checkout (bin/vespera.js → tsx; no dist/ built), p50', tsx.p50, target, 'ms')]),
      info('vespera ready --json, checkout (tsx), p99', tsx.p99, 'ms'),
    ];
    return {
      name: 'peopleCli',
      setup: `vespera serve in its own process, SQLite sync=full, vectors off (NOT the default), ${runs} CLI runs per figure after one warm-up`,
      rows,
      figures: {
        tasks,
        seedSeconds,
        nodeP50: node.p50,
        tsxP50: tsx.p50,
        tsxP99: tsx.p99,
        ...(dist ? { distP50: dist.p50, distP99: dist.p99 } : {}),
      },
    };
  } finally {
    await server.close();
    remove();
  }
};
