import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs `vespera token create` as a separate process on the app's data directory, as an operator would. */
const tokenCreate = (dataDir: string, plugin: string): Promise<{ code: number | null; token: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VESPERA_') && k !== 'EVENTSTORE_URL'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'token', 'create', '--plugin', plugin, '--capabilities', 'task_reading,search'],
      {
        cwd: REPO,
        env: { ...env, VESPERA_DATA_DIR: dataDir, VESPERA_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, token: stdout.trim(), stderr }));
  });

describe('A token issued by the CLI while the server runs', function () {
  this.timeout(60_000);
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.close());

  // The CLI appends to the log from its own process; the server sees foreign appends only when it next polls
  // the store. A signed token it has not projected yet must not be refused as "never issued here".
  for (const attempt of [1, 2, 3]) {
    it(`is accepted by the very next request (attempt ${attempt})`, async () => {
      const plugin = `desk-reader-${attempt}`;
      const issued = await tokenCreate(app.dataDir, plugin);
      expect(issued.code, issued.stderr).to.equal(0);
      const me = await api(app.baseUrl, 'GET', '/api/v1/plugins/me', undefined, { authorization: `Bearer ${issued.token}` });
      expect(me.status, JSON.stringify(me.body)).to.equal(200);
      expect(me.body).to.include({ actor: plugin });
      expect(me.body.capabilities).to.deep.equal(['task_reading', 'search']);
    });
  }

  it('is refused once an administrator revokes its plugin, even before this server has projected the plugin', async () => {
    const issued = await tokenCreate(app.dataDir, 'desk-reader-revoked');
    const admin = { authorization: `Bearer ${app.adminToken}` };
    expect((await api(app.baseUrl, 'POST', '/api/v1/plugins/desk-reader-revoked/revoke', {}, admin)).status).to.be.oneOf([200, 204]);
    const me = await api(app.baseUrl, 'GET', '/api/v1/plugins/me', undefined, { authorization: `Bearer ${issued.token}` });
    expect(me.status).to.equal(401);
    expect(me.body.code).to.equal('TOKEN_REVOKED');
  });
});
