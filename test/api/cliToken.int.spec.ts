import { expect } from 'chai';
import { runCli } from '../support/cli.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

/** `vespera token create` as a separate process on the app's data directory, as an operator would run it. */
const tokenCreate = async (dataDir: string, plugin: string) => {
  const run = await runCli(['token', 'create', '--plugin', plugin, '--capabilities', 'task_reading,search'], dataDir);
  return { ...run, token: run.stdout.trim() };
};

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
