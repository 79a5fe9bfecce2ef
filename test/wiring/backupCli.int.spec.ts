import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { dumpReadModel } from '../../src/projections/sqlite/readModel.js';
import { runCli } from '../support/cli.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

const count = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events').get()!.n;
  } finally {
    db.close();
  }
};

/** `vespera backup`, `vespera restore` and `vespera audit events` as an operator runs them, against a running server's data directory. */
describe('vespera backup / restore / audit events', function () {
  this.timeout(120_000);
  let app: TestApp;
  let scratch: string;
  let backup: string;
  let restoredDir: string;

  before(async () => {
    app = await startTestApp();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-backup-cli-'));
    backup = path.join(scratch, 'log.ndjson');
    restoredDir = path.join(scratch, 'restored');
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await api(app.baseUrl, 'POST', '/api/v1/tasks', { title: `backup ${i}`, tags: [`t${i % 3}`] })).body.id);
    for (let i = 1; i < 12; i++) await api(app.baseUrl, 'POST', `/api/v1/tasks/${ids[i]}/dependencies`, { dependsOn: ids[i - 1], kind: 'hard' });
    await api(app.baseUrl, 'PATCH', `/api/v1/tasks/${ids[3]}`, { title: 'renamed', priority: 'high' });
    await api(app.baseUrl, 'DELETE', `/api/v1/tasks/${ids[11]}`);
  });

  after(async () => {
    await app?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('backs up while the server runs, and the restore into a fresh data directory rebuilds the same read model', async () => {
    const made = await runCli(['backup', backup, '--json'], app.dataDir);
    expect(made.code, made.stderr).to.equal(0);
    const summary = JSON.parse(made.stdout) as { count: number; lastPosition: number };
    expect(summary.lastPosition).to.equal(await app.store.headPosition());

    const restored = await runCli(['restore', backup, '--json'], restoredDir);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(JSON.parse(restored.stdout)).to.include({ count: summary.count, lastPosition: summary.lastPosition });
    expect(count(path.join(restoredDir, 'events.db'))).to.equal(summary.count);
    const rebuilt = new Database(path.join(restoredDir, 'read.db'), { readonly: true });
    try {
      expect(dumpReadModel(rebuilt)).to.deep.equal(dumpReadModel(app.readDb));
    } finally {
      rebuilt.close();
    }
  });

  it('refuses to restore into a data directory whose log is not empty (exit 1)', async () => {
    const again = await runCli(['restore', backup], restoredDir);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/already holds \d+ events/);
  });

  it('refuses to restore into a data directory a running server owns (exit 1), naming the server', async () => {
    const head = await app.store.headPosition();
    const again = await runCli(['restore', backup], app.dataDir);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include(`pid ${process.pid}`).and.include(app.baseUrl);
    expect(await app.store.headPosition()).to.equal(head);
  });

  it('refuses a truncated backup (exit 1) and writes no log', async () => {
    const cut = path.join(scratch, 'cut.ndjson');
    const text = fs.readFileSync(backup, 'utf8');
    fs.writeFileSync(cut, text.slice(0, Math.floor(text.length / 2)));
    const dir = path.join(scratch, 'from-cut');
    const refused = await runCli(['restore', cut], dir);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/line \d+|truncated/);
    expect(
      fs.readdirSync(dir).filter((f) => f.startsWith('events.db')),
      'no log written, nothing left aside',
    ).to.deep.equal([]);
  });

  it('lists events with the filters of the API: a table by default, JSON with --json, exit 2 on a bad filter', async () => {
    const json = await runCli(['audit', 'events', '--type', 'TaskCreated,TaskDeleted', '--actor', 'admin', '--limit', '5', '--json'], app.dataDir);
    expect(json.code, json.stderr).to.equal(0);
    const listed = JSON.parse(json.stdout) as { items: Array<{ type: string; metadata: { actor: string } }>; nextAfterPosition: number | null };
    expect(listed.items).to.have.length(5);
    expect(listed.items.map((e) => [e.type, e.metadata.actor])).to.deep.equal(Array(5).fill(['TaskCreated', 'admin']));
    expect(listed.nextAfterPosition).to.be.a('number');

    const table = await runCli(['audit', 'events', '--type', 'TaskDeleted'], app.dataDir);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout.split('\n')[0]).to.match(/^POSITION\s+RECORDED AT\s+STREAM\s+TYPE/);
    expect(table.stdout).to.include('TaskDeleted');

    const bad = await runCli(['audit', 'events', '--from', 'last tuesday'], app.dataDir);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('ISO-8601');
  });
});
