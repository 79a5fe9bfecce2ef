import { expect } from 'chai';
import { api, startTestApp, type JsonResponse, type TestApp } from '../support/testApp.js';
import { bearer, FeedClient } from './feed/feedClient.js';
import { call as callTool, connect, ok as okTool } from './mcp/support.js';

/**
 * Agent status notes (issue 15 item 3): `heartbeat {note}` travels in LeaseExtended, shows on the task as `statusNote`
 * while the claim lives, stays in the history, and reaches live-feed subscribers with the event.
 */
describe('Agent status notes (heartbeat {note})', () => {
  let app: TestApp;
  const call = (method: string, url: string, body?: unknown): Promise<JsonResponse> => api(app.baseUrl, method, `/api/v1${url}`, body);
  const ok = (response: JsonResponse, status = 200): JsonResponse => {
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    return response;
  };
  const projectId = `notes-${Date.now().toString(36)}`;
  const claimedTask = async (title: string, agent = 'ada'): Promise<string> => {
    const id = ok(await call('POST', '/tasks', { projectId, title }), 201).body.id as string;
    ok(await call('POST', `/tasks/${id}/claim`, { agent }));
    return id;
  };

  before(async function () {
    this.timeout(30_000);
    app = await startTestApp();
    ok(await call('POST', '/projects', { id: projectId, name: 'Notes' }), 201);
  });

  after(() => app?.close());

  describe('when the claiming agent sends a note with its heartbeat', () => {
    it('then the task shows it with its time, a heartbeat without a note keeps it, and the history records it', async () => {
      const id = await claimedTask('Write the parser');
      expect(ok(await call('GET', `/tasks/${id}`)).body.statusNote).to.equal(null);
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'writing the parser' }));
      const task = ok(await call('GET', `/tasks/${id}`)).body;
      expect(task.statusNote.note).to.equal('writing the parser');
      expect(Date.parse(task.statusNote.at)).to.be.closeTo(Date.now(), 60_000);
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada' }));
      expect(ok(await call('GET', `/tasks/${id}`)).body.statusNote).to.deep.equal(task.statusNote);
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'testing the parser' }));
      expect(ok(await call('GET', `/tasks/${id}`)).body.statusNote.note).to.equal('testing the parser');
      const notes = (ok(await call('GET', `/tasks/${id}/history`)).body.items as Array<{ type: string; changes: { note?: string } }>)
        .filter((i) => i.type === 'LeaseExtended')
        .map((i) => i.changes.note ?? null);
      expect(notes).to.deep.equal(['writing the parser', null, 'testing the parser']);
      // The audit's fold of the log shows the same note as the read model.
      const folded = ok(await call('GET', `/audit/tasks/${id}`)).body.task;
      expect(folded.statusNote).to.deep.equal(ok(await call('GET', `/tasks/${id}`)).body.statusNote);
      // An empty note clears it.
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: '' }));
      expect(ok(await call('GET', `/tasks/${id}`)).body.statusNote).to.equal(null);
      expect(ok(await call('GET', `/audit/tasks/${id}`)).body.task.statusNote).to.equal(null);
    });

    it('then the note ends with the claim', async () => {
      const id = await claimedTask('Short job');
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'almost done' }));
      ok(await call('POST', `/tasks/${id}/complete`, { agent: 'ada', output: 'done' }));
      expect(ok(await call('GET', `/tasks/${id}`)).body.statusNote).to.equal(null);
    });

    it('then a live-feed subscriber receives the note in the LeaseExtended event', async () => {
      const id = await claimedTask('Watched work');
      const feed = FeedClient.open(app.baseUrl, bearer(app.adminToken));
      try {
        await feed.next((m) => m.op === 'authenticated');
        feed.send({ op: 'subscribe', id: 'notes', projectId });
        await feed.next((m) => m.op === 'caught_up');
        ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'halfway through the tests' }));
        const event = await feed.next((m) => m.op === 'event' && m.type === 'LeaseExtended' && m.data?.['taskId'] === id);
        expect(event.data).to.include({ taskId: id, agent: 'ada', note: 'halfway through the tests' });
      } finally {
        await feed.close();
      }
    });

    it('then heartbeat_task over MCP takes the note too', async () => {
      const mcp = await connect(app, { toolSet: 'core' });
      try {
        const id = await claimedTask('MCP work', 'mcp-agent');
        okTool(await callTool(mcp.client, 'heartbeat_task', { id, agent: 'mcp-agent', note: 'reading the spec' }));
        expect(okTool(await callTool(mcp.client, 'get_task', { id })).statusNote.note).to.equal('reading the spec');
      } finally {
        await mcp.close();
      }
    });
  });

  describe('when the note is too long', () => {
    it('then the heartbeat is refused with 400 problem+json and the lease is not extended', async () => {
      const id = await claimedTask('Verbose agent');
      const before = ok(await call('GET', `/tasks/${id}`)).body;
      const refused = await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'x'.repeat(281) });
      expect(refused.status, JSON.stringify(refused.body)).to.equal(400);
      expect(refused.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(refused.body.code).to.equal('VALIDATION_ERROR');
      const after = ok(await call('GET', `/tasks/${id}`)).body;
      expect(after.version).to.equal(before.version);
      ok(await call('POST', `/tasks/${id}/heartbeat`, { agent: 'ada', note: 'x'.repeat(280) }));
    });
  });
});
