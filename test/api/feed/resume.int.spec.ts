import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { bearer, createProject, createTask, FeedClient } from './feedClient.js';

describe('Live feed resume', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp();
    await createProject(app, 'resume');
    await createProject(app, 'noise');
  });
  after(() => app?.close());

  const connect = async (fromPosition: number) => {
    const client = FeedClient.open(app.baseUrl, bearer(app.adminToken));
    await client.next((m) => m.op === 'authenticated');
    client.send({ op: 'subscribe', id: 'r', projectId: 'resume', fromPosition });
    return client;
  };
  const projectPositions = async (from: number) => {
    const positions: number[] = [];
    for (let at = from - 1; ;) {
      const page = await app.store.readAll({ fromPosition: at, maxCount: 1000 });
      if (page.length === 0) return positions;
      for (const e of page) if (e.streamId === 'project-resume') positions.push(e.position);
      at = page.at(-1)!.position;
    }
  };

  describe('when a client reconnects three times while writes go on', () => {
    it('receives every event of its project exactly once, in position order', async () => {
      const from = (await app.store.headPosition()) + 1;
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await createTask(app, written % 3 === 0 ? 'noise' : 'resume', `write ${written}`);
          written += 1;
        }
      })();
      const seen: number[] = [];
      let next = from;
      for (let round = 0; round < 4; round++) {
        const client = await connect(next);
        // Cut the socket mid-stream, as a dropped network would, once a few new events have arrived.
        const enough = client.events('r').length + 10;
        await client.eventCount('r', enough);
        client.ws.terminate();
        await client.closed;
        const got = client.events('r').map((e) => e.position!);
        seen.push(...got);
        next = got.at(-1)! + 1;
      }
      writing = false;
      await writer;
      const final = await connect(next);
      await final.next((m) => m.op === 'caught_up');
      seen.push(...final.events('r').map((e) => e.position!));
      await final.close();
      const expected = await projectPositions(from);
      expect(written).to.be.greaterThan(20);
      expect(seen).to.deep.equal(expected);
    });
  });

  describe('when a read model is rebuilt', () => {
    it('sends nothing again: the feed follows the log, not the projections', async () => {
      const client = FeedClient.open(app.baseUrl, bearer(app.adminToken));
      await client.next((m) => m.op === 'authenticated');
      client.send({ op: 'subscribe', id: 'all' });
      await client.next((m) => m.op === 'caught_up');
      const rebuild = await api(app.baseUrl, 'POST', '/api/v1/admin/rebuild', { model: 'sqlite' });
      expect(rebuild.status, JSON.stringify(rebuild.body)).to.equal(202);
      let state = rebuild.body.state as string;
      for (let i = 0; i < 200 && state === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = (await api(app.baseUrl, 'GET', `/api/v1/admin/jobs/${rebuild.body.id}`)).body.state;
      }
      expect(state).to.not.equal('running');
      const marker = await createTask(app, 'resume', 'after the rebuild');
      const events = await client.eventCount('all', 1);
      await client.close();
      expect(events.map((e) => e.position)).to.deep.equal([marker.position]);
    });
  });
});
