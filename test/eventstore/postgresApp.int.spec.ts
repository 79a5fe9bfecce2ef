import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';
import { REPO } from '../support/cli.js';
import { freshDatabase, requirePostgres, startProxy } from '../support/postgres.js';

type Run = { code: number | null; stderr: string };

/** `vespera ARGS…` as its own process with exactly this store configuration (nothing of the test run's VESPERA_*). */
const cliWith = (args: string[], storeEnv: Record<string, string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-pg-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && k !== 'EVENTSTORE_URL'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: REPO,
      env: { ...env, VESPERA_DATA_DIR: dataDir, VESPERA_PORT: '0', VESPERA_VECTORS: 'off', ...storeEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      fs.rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stderr });
    });
  });

describe('Vespera on the PostgreSQL event store', function () {
  this.timeout(90_000);

  before(async () => {
    await requirePostgres();
  });

  describe('when the configuration names PostgreSQL', () => {
    it('takes VESPERA_POSTGRES_URL and refuses a missing or foreign one', () => {
      const url = 'postgres://vespera:secret@db.internal:5432/vespera';
      expect(loadConfig({ VESPERA_EVENT_STORE: 'postgres', VESPERA_POSTGRES_URL: url })).to.include({ eventStore: 'postgres', postgresUrl: url });
      expect(() => loadConfig({ VESPERA_EVENT_STORE: 'postgres' })).to.throw(ConfigError, /VESPERA_POSTGRES_URL is required/);
      expect(() => loadConfig({ VESPERA_EVENT_STORE: 'postgres', VESPERA_POSTGRES_URL: 'mysql://db/x' })).to.throw(ConfigError, /postgres:\/\//);
    });
  });

  describe('when the event store does not answer at start', () => {
    it('exits 3 with one EVENT_STORE_UNAVAILABLE line naming the PostgreSQL URL without its password', async () => {
      const run = await cliWith(['serve'], {
        VESPERA_EVENT_STORE: 'postgres',
        VESPERA_POSTGRES_URL: 'postgres://vespera:pg-s3cret@127.0.0.1:1/vespera',
      });
      expect(run.code).to.equal(3);
      expect(run.stderr.trim().split('\n')).to.have.length(1);
      expect(run.stderr).to.match(/^EVENT_STORE_UNAVAILABLE .*postgres:\/\/vespera@127\.0\.0\.1:1\/vespera/);
      expect(run.stderr).not.to.include('pg-s3cret');
    });

    it('does the same for KurrentDB', async () => {
      const run = await cliWith(['serve'], {
        VESPERA_EVENT_STORE: 'eventstoredb',
        EVENTSTORE_URL: 'kurrentdb://admin:kdb-s3cret@127.0.0.1:1?tls=false',
      });
      expect(run.code).to.equal(3);
      expect(run.stderr.trim().split('\n')).to.have.length(1);
      expect(run.stderr).to.match(/^EVENT_STORE_UNAVAILABLE .*kurrentdb:\/\/admin@127\.0\.0\.1:1/);
      expect(run.stderr).not.to.include('kdb-s3cret');
    });
  });

  describe('when asked for a backup or a restore of a PostgreSQL log', () => {
    it('refuses (exit 1) and points at pg_dump', async () => {
      const db = await freshDatabase();
      try {
        const env = { VESPERA_EVENT_STORE: 'postgres', VESPERA_POSTGRES_URL: db.url };
        const file = path.join(os.tmpdir(), `vespera-pg-backup-${process.pid}.ndjson`);
        for (const args of [
          ['backup', file],
          ['restore', file],
        ]) {
          const run = await cliWith(args, env);
          expect(run.code, args[0]).to.equal(1);
          expect(run.stderr).to.match(/works on the embedded SQLite event log; this configuration uses postgres/);
          expect(run.stderr).to.include('pg_dump');
        }
        expect(fs.existsSync(file), 'no backup file written').to.equal(false);
      } finally {
        await db.drop();
      }
    });
  });

  describe('when PostgreSQL is cut off mid-run and comes back', () => {
    let app: TestApp | undefined;
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    let drop: () => Promise<void>;

    before(async () => {
      const db = await freshDatabase();
      drop = db.drop;
      proxy = await startProxy({ host: '127.0.0.1', port: 5432 });
      app = await startTestApp({ eventStore: 'postgres', postgresUrl: proxy.urlFor(db.url) });
    });

    after(async () => {
      proxy?.restore();
      await app?.close();
      await proxy?.close();
      await drop?.();
    });

    it('serves writes, answers 503 EVENT_STORE_UNAVAILABLE while it is away, and takes writes again when it is back', async () => {
      const before = await api(app!.baseUrl, 'POST', '/api/v1/tasks', { title: 'Before the cut' });
      expect(before.status).to.equal(201);
      const head = await app!.store.headPosition();

      proxy.cut();
      const during = await api(app!.baseUrl, 'POST', '/api/v1/tasks', { title: 'During the cut' });
      expect(during.status).to.equal(503);
      expect(during.headers.get('content-type')).to.match(/application\/problem\+json/);
      expect(during.body).to.include({ code: 'EVENT_STORE_UNAVAILABLE', status: 503 });
      expect(during.body.hint).to.be.a('string');

      proxy.restore();
      let after = during;
      for (let i = 0; i < 50 && after.status !== 201; i++) {
        await sleep(100);
        after = await api(app!.baseUrl, 'POST', '/api/v1/tasks', { title: 'After the cut' });
      }
      expect(after.status).to.equal(201);
      const titles = (await app!.store.readAll({ fromPosition: head })).map((e) => (e.data as { title?: string }).title);
      expect(titles, 'nothing of the refused write was stored').to.deep.equal(['After the cut']);
    });
  });
});
