/**
 * The hostile-client battery of issue 10, run against a real `vespera serve` child process (default
 * settings: sync=full, vectors on, rate limits on). Each row counts what must be zero on a sound server:
 * hangs, 5xx answers, double claims, leaked or dropped answers. `npx tsx bench/attack.ts [--json]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/util/freePort.js';

type Answer = { status: number; body: any; ms: number }; // eslint-disable-line @typescript-eslint/no-explicit-any
type Row = { attack: string; requests: number; fiveXx: number; hangs: number; breaches: number; note: string };

const HANG_MS = 2000;
const rows: Row[] = [];

const startServer = async (dataDir: string, port: number): Promise<ChildProcess> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    env: { ...process.env, VESPERA_DATA_DIR: dataDir, VESPERA_PORT: String(port), VESPERA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not come up in 120 s');
};

const main = async () => {
  const json = process.argv.includes('--json');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-attack-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(dataDir, port);
  const admin = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();

  const call = async (
    token: string | undefined,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const started = performance.now();
    try {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // keep the text
      }
      return { status: response.status, body: parsed, ms: performance.now() - started };
    } catch {
      return { status: 0, body: undefined, ms: performance.now() - started };
    }
  };
  const v1 = (token: string | undefined, method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    call(token, method, `/api/v1${url}`, body, headers);
  const tally = (attack: string, answers: Answer[], breaches: number, note: string, hangMs = HANG_MS) =>
    rows.push({
      attack,
      requests: answers.length,
      fiveXx: answers.filter((a) => a.status >= 500 || a.status === 0).length,
      hangs: answers.filter((a) => a.ms > hangMs || a.status === 0).length,
      breaches,
      note,
    });
  const plugin = async (id: string, capabilities: string[], ttlSeconds?: number) => {
    await v1(admin, 'POST', '/plugins', { id, name: id, type: 'agent', capabilities });
    return (await v1(admin, 'POST', `/plugins/${id}/tokens`, ttlSeconds ? { ttlSeconds } : {})).body.token as string;
  };
  const workers = ['task_creation', 'task_reading', 'task_modification'];

  try {
    // 2. Lease takeover by another plugin.
    const [tokenA, tokenB] = [await plugin('plugin-a', workers), await plugin('plugin-b', workers)];
    const takeovers: Answer[] = [];
    let stolen = 0;
    for (let i = 0; i < 10; i++) {
      const task = (await v1(tokenA, 'POST', '/tasks', { title: `Lease ${i}` })).body;
      await v1(tokenA, 'POST', `/tasks/${task.id}/claim`, { agent: 'agent1' });
      for (const step of ['heartbeat', 'release', 'complete']) {
        const answer = await v1(tokenB, 'POST', `/tasks/${task.id}/${step}`, { agent: 'agent1' });
        takeovers.push(answer);
        if (answer.status < 300) stolen += 1;
      }
      // Ending A's claim by a status change would hand the task to B's next claim.
      const ended = await v1(tokenB, 'POST', `/tasks/${task.id}/status`, { status: 'pending' });
      takeovers.push(ended);
      if (ended.status < 300) stolen += 1;
    }
    tally(
      'lease takeover (B acts on A’s claim)',
      takeovers,
      stolen,
      `${stolen} of ${takeovers.length} foreign heartbeats/releases/completes/status changes accepted`,
    );

    // 3. Idempotency keys across callers and bodies.
    const keyed: Answer[] = [];
    let leaked = 0;
    let dropped = 0;
    for (let i = 0; i < 10; i++) {
      const key = { 'Idempotency-Key': `attack-key-${i}-0000` };
      const a = await v1(tokenA, 'POST', '/tasks', { title: `Private to A ${i}` }, key);
      const b = await v1(tokenB, 'POST', '/tasks', { title: `Private to A ${i}` }, key);
      const reuse = await v1(tokenA, 'POST', '/tasks', { title: `Another request ${i}` }, key);
      keyed.push(a, b, reuse);
      if (b.body?.id === a.body?.id) leaked += 1;
      if (reuse.status !== 422) dropped += 1;
    }
    tally(
      'idempotency keys (leak, silent drop)',
      keyed,
      leaked + dropped,
      `${leaked} answers leaked to another plugin, ${dropped} reused keys not refused with 422`,
    );

    // 4. Workload limit under concurrency.
    await v1(admin, 'POST', '/roles', {
      name: 'pair_coder',
      description: 'two at once',
      capabilities: ['code_writing'],
      filePatterns: ['src/**'],
      tools: [],
      maxConcurrentTasks: 2,
      restrictions: { maxFileChanges: 5, maxTaskDepth: 5, requireApproval: false, timeLimitMinutes: 5 },
    });
    for (const projectId of ['attack-p1', 'attack-p2']) {
      await v1(admin, 'POST', '/projects', { id: projectId, name: projectId });
      for (let i = 0; i < 10; i++) await v1(admin, 'POST', '/tasks', { projectId, title: `Ready ${i}`, requiredCapabilities: ['code_writing'] });
    }
    // Open 16 connections first, so the claims arrive together rather than one connection at a time.
    await Promise.all(Array.from({ length: 16 }, () => v1(tokenA, 'GET', '/roles/workload?role=pair_coder')));
    const claims = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        v1(i % 2 ? tokenA : tokenB, 'POST', '/tasks/claim-next', {
          role: 'pair_coder',
          agent: `agent-${i}`,
          projectId: i % 4 < 2 ? 'attack-p1' : 'attack-p2',
        }),
      ),
    );
    const granted = claims.filter((c) => c.status === 200 && c.body.claimed).length;
    tally('16 concurrent claim-next, limit 2', claims, Math.max(0, granted - 2), `${granted} claims granted`);

    // 5. Token refresh: lifetime and forks.
    const shortLived = await plugin('short-lived', ['task_reading'], 60);
    const refreshed = await v1(shortLived, 'POST', '/plugins/me/token', {});
    const exp = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    const lifetime = refreshed.body?.token ? exp(refreshed.body.token).exp - exp(refreshed.body.token).iat : 0;
    const forked = await plugin('forked', ['task_reading'], 600);
    const racing = await Promise.all(Array.from({ length: 5 }, () => v1(forked, 'POST', '/plugins/me/token', {})));
    const live = (await Promise.all(racing.filter((r) => r.body?.token).map((r) => v1(r.body.token, 'GET', '/plugins/me')))).filter(
      (r) => r.status === 200,
    ).length;
    tally(
      'token refresh (lifetime, forks)',
      [refreshed, ...racing],
      (lifetime > 60 ? 1 : 0) + Math.max(0, live - 1),
      `refreshed 60 s token lives ${lifetime} s; ${live} of 5 concurrent refreshes live`,
    );

    // 6. Invalid tokens against the anonymous rate limit.
    const junk = await Promise.all(Array.from({ length: 400 }, () => v1('a.b.c', 'GET', '/tasks')));
    const limited = junk.filter((a) => a.status === 429).length;
    // 400 requests at once queue behind each other on two cores: a hang here is no answer within 15 s.
    tally('400 requests with Bearer a.b.c', junk, limited === 0 ? 1 : 0, `${limited} answered 429`, 15_000);

    // 7. Smaller ones: role header, strings, MCP arguments.
    const small = [
      await v1(admin, 'GET', '/tasks', undefined, { 'x-vespera-role': 'admin' }),
      await v1(admin, 'GET', '/tasks', undefined, { 'x-vespera-role': 'no_such_role' }),
      await v1(admin, 'POST', '/tasks', '{"title":"lone \\ud800 surrogate"}'),
      await v1(admin, 'POST', '/tasks', { title: 'nul \u0000 byte' }),
      await v1(admin, 'POST', '/tasks', { title: 'nul in files', files: ['src/\u0000x.ts'] }),
    ];
    const accepted = small.filter((a) => a.status < 400).length;
    const mcp = await call(
      admin,
      'POST',
      '/mcp',
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_task', arguments: 'not an object' } },
      { accept: 'application/json, text/event-stream' },
    );
    const mcpCode = typeof mcp.body === 'string' ? Number(/"code":(-?\d+)/.exec(mcp.body)?.[1]) : mcp.body?.error?.code;
    tally(
      'role header, strings, MCP arguments',
      [...small, mcp],
      accepted + (mcpCode === -32602 ? 0 : 1),
      `${accepted} of ${small.length} bad inputs accepted; MCP bad arguments → ${mcpCode}`,
    );
    // 8. (last: on a vulnerable server it freezes the event loop for good) ReDoS through a role's file patterns.
    const roleAdmin = await plugin('role-admin', ['role_management', 'task_reading']);
    const evil = ['(a+)+b', '+(a|aa)+b', '*a*a*a*a*a*a*a*a*a*a*a*a*b', '**/**/**/**/**/**/**/**/**/**/*b', '{a,{b,{c,{d,e}}}}/**'];
    const stored: Answer[] = [];
    for (const [i, pattern] of evil.entries()) {
      stored.push(
        await v1(roleAdmin, 'POST', '/roles', {
          name: `evil_${i}`,
          description: 'hostile patterns',
          capabilities: ['code_writing'],
          filePatterns: [pattern],
          tools: [],
          maxConcurrentTasks: 1,
          restrictions: { maxFileChanges: 1, maxTaskDepth: 1, requireApproval: false, timeLimitMinutes: 1 },
        }),
      );
    }
    const probes: Answer[] = [];
    for (const n of [30, 50, 1000]) probes.push(await v1(roleAdmin, 'GET', `/roles/suitable?files=${'a'.repeat(n)}c`));
    probes.push(await call(undefined, 'GET', '/health'));
    // Regex syntax, extglobs and nested braces must be refused; plain `*` and `**` chains are globs and may be
    // stored, as long as matching them stays fast (the probes).
    const mustRefuse = [0, 1, 4];
    const storedBad = mustRefuse.filter((i) => stored[i]!.status < 400).length;
    const slowest = Math.max(...probes.map((p) => p.ms));
    tally(
      'ReDoS role patterns',
      [...stored, ...probes],
      storedBad + probes.filter((p) => p.ms > 1000).length,
      `${storedBad}/${mustRefuse.length} regex/extglob/nested patterns stored, ${stored.filter((a) => a.status < 400).length - storedBad} star chains stored; slowest probe ${Math.round(slowest)} ms`,
    );
  } finally {
    server.kill('SIGTERM');
    const killer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await new Promise((r) => server.once('exit', r));
    clearTimeout(killer);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const header = ['attack', 'requests', '5xx', 'hangs', 'breaches', 'what happened'];
  const table = rows.map((r) => [r.attack, String(r.requests), String(r.fiveXx), String(r.hangs), String(r.breaches), r.note]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const t of table) console.log(line(t));
  const totals = {
    requests: rows.reduce((n, r) => n + r.requests, 0),
    fiveXx: rows.reduce((n, r) => n + r.fiveXx, 0),
    hangs: rows.reduce((n, r) => n + r.hangs, 0),
    breaches: rows.reduce((n, r) => n + r.breaches, 0),
  };
  console.log(`total: ${totals.requests} requests, ${totals.fiveXx} 5xx, ${totals.hangs} hangs, ${totals.breaches} breaches`);
  if (json) console.log(JSON.stringify({ attack: rows, totals }));
  process.exitCode = totals.fiveXx + totals.hangs + totals.breaches === 0 ? 0 : 1;
};

await main();
