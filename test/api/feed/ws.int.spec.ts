import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { bearer, createProject, createTask, FeedClient, pluginToken } from './feedClient.js';

describe('Live feed over WebSocket', () => {
  let app: TestApp;
  const clients: FeedClient[] = [];
  const open = (headers: Record<string, string> = bearer(app.adminToken), path?: string, options = {}) => {
    const client = FeedClient.open(app.baseUrl, headers, path, options);
    clients.push(client);
    return client;
  };
  const authenticated = async (headers?: Record<string, string>) => {
    const client = open(headers);
    await client.next((m) => m.op === 'authenticated');
    return client;
  };

  before(async () => {
    app = await startTestApp({ feedAuthTimeoutMs: 300, feedIdleMs: 1500, feedHeartbeatMs: 400 });
    await createProject(app, 'alpha');
    await createProject(app, 'beta');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(() => app?.close());

  describe('when a client authenticates', () => {
    it('accepts the Authorization header at the upgrade and streams what is appended after a subscribe', async () => {
      const client = await authenticated();
      client.send({ op: 'subscribe', id: 's1', projectId: 'alpha' });
      const caughtUp = await client.next((m) => m.op === 'caught_up');
      const task = await createTask(app, 'alpha', 'header auth');
      const event = await client.next((m) => m.op === 'event' && m.type === 'TaskCreated');
      expect(caughtUp).to.include({ sub: 's1' });
      expect(event).to.include({ sub: 's1', streamId: 'project-alpha', position: task.position });
      expect(event.data).to.include({ taskId: task.id, title: 'header auth' });
      expect(event.metadata).to.include({ actor: 'admin', tool: 'rest' });
      expect(event.recordedAt).to.be.a('string');
    });

    it('accepts a first {"op":"auth"} message from a socket without the header (browsers)', async () => {
      const client = open({});
      await client.opened;
      // The subscribe follows the auth message at once, as a browser's would.
      client.send({ op: 'auth', token: app.adminToken });
      client.send({ op: 'subscribe', id: 'browser', projectId: 'alpha' });
      const welcome = await client.next((m) => m.op === 'authenticated');
      await client.next((m) => m.op === 'caught_up');
      const task = await createTask(app, 'alpha', 'message auth');
      const event = await client.next((m) => m.op === 'event' && m.data?.taskId === task.id);
      expect(welcome).to.include({ actor: 'admin' });
      expect(event.sub).to.equal('browser');
    });

    it('closes a socket that sent no auth message in time with 4001 and says why', async () => {
      const client = open({});
      await client.opened;
      const { code, reason } = await client.closed;
      expect(code).to.equal(4001);
      expect(reason).to.match(/timeout/);
      expect(client.messages.at(-1)).to.include({ op: 'error', code: 'AUTHENTICATION_REQUIRED' });
    });

    it('refuses anything but auth before authentication, and a bad token with 4001', async () => {
      const client = open({});
      await client.opened;
      client.send({ op: 'subscribe', id: 'early' });
      const refused = await client.next((m) => m.op === 'error');
      client.send({ op: 'auth', token: 'aaa.bbb.ccc' });
      const { code } = await client.closed;
      expect(refused.code).to.equal('AUTHENTICATION_REQUIRED');
      expect(code).to.equal(4001);
      expect(client.messages.filter((m) => m.op === 'error').map((m) => m.code)).to.have.length(2);
    });

    it('answers a bad Authorization header with 401 problem+json at the upgrade', async () => {
      const client = open({ authorization: 'Bearer not-a-token' });
      const refusal = await client.opened.then(
        () => undefined,
        (error: { status: number; body: string }) => error,
      );
      expect(refusal?.status).to.equal(401);
      expect(JSON.parse(refusal!.body).code).to.equal('TOKEN_MALFORMED');
    });

    it('refuses a token in the URL with 400, even a valid one', async () => {
      const client = open({}, `/api/v1/ws?token=${app.adminToken}`);
      const refusal = await client.opened.then(
        () => undefined,
        (error: { status: number; body: string }) => error,
      );
      expect(refusal?.status).to.equal(400);
      expect(JSON.parse(refusal!.body).code).to.equal('TOKEN_IN_URL');
    });

    it('answers 404 on any other upgrade path', async () => {
      const statuses = [];
      for (const path of ['/ws', '/api/v1/events', '/api/v1/ws/extra']) {
        const client = open(bearer(app.adminToken), path);
        statuses.push(
          await client.opened.then(
            () => 101,
            (error: { status: number }) => error.status,
          ),
        );
      }
      expect(statuses).to.deep.equal([404, 404, 404]);
    });
  });

  describe('when a client sends a bad message', () => {
    it('answers each with a stable error code and keeps the socket open', async () => {
      const client = await authenticated();
      const bad: Array<[unknown, string]> = [
        ['{not json', 'INVALID_JSON'],
        [{ op: 'dance' }, 'UNKNOWN_OP'],
        [[1, 2], 'INVALID_MESSAGE'],
        [{ op: 'subscribe' }, 'INVALID_MESSAGE'],
        [{ op: 'subscribe', id: 'x', projectId: 42 }, 'INVALID_MESSAGE'],
        [{ op: 'subscribe', id: 'x', types: 'TaskCreated' }, 'INVALID_MESSAGE'],
        [{ op: 'subscribe', id: 'x', fromPosition: -1 }, 'INVALID_MESSAGE'],
        [{ op: 'subscribe', id: 'x', fromPosition: 10 ** 9 }, 'POSITION_NOT_REACHED'],
        [{ op: 'subscribe', id: 'x', colour: 'red' }, 'INVALID_MESSAGE'],
        [{ op: 'unsubscribe', id: 'never' }, 'UNKNOWN_SUBSCRIPTION'],
        [{ op: 'auth', token: app.adminToken }, 'ALREADY_AUTHENTICATED'],
      ];
      const codes: string[] = [];
      for (const [message, _code] of bad) {
        const from = client.messages.length;
        client.send(message);
        codes.push((await client.next((m) => m.op === 'error', from)).code!);
      }
      client.send({ op: 'subscribe', id: 'dup' });
      await client.next((m) => m.op === 'caught_up' && m.sub === 'dup');
      client.send({ op: 'subscribe', id: 'dup' });
      const duplicate = await client.next((m) => m.op === 'error' && m.sub === 'dup');
      expect(codes).to.deep.equal(bad.map(([, code]) => code));
      expect(duplicate.code).to.equal('SUBSCRIPTION_EXISTS');
      expect(client.ws.readyState).to.equal(client.ws.OPEN);
    });
  });

  describe('when a subscription filters', () => {
    it('sends only the events of its project, task or types', async () => {
      const client = await authenticated();
      const from = (await app.store.headPosition()) + 1;
      const alphaTask = await createTask(app, 'alpha', 'filtered alpha');
      await createTask(app, 'beta', 'filtered beta');
      const update = await fetch(`${app.baseUrl}/api/v1/tasks/${alphaTask.id}/status`, {
        method: 'POST',
        headers: { ...bearer(app.adminToken), 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'in_progress' }),
      });
      expect(update.status).to.be.oneOf([200, 201]);
      const head = await app.store.headPosition();
      client.send({ op: 'subscribe', id: 'project', projectId: 'beta', fromPosition: from });
      client.send({ op: 'subscribe', id: 'task', taskId: alphaTask.id, fromPosition: from });
      client.send({ op: 'subscribe', id: 'types', types: ['TaskStatusChanged'], fromPosition: from });
      client.send({ op: 'subscribe', id: 'all', fromPosition: from });
      for (const sub of ['project', 'task', 'types', 'all']) await client.next((m) => m.op === 'caught_up' && m.sub === sub);
      const of = (sub: string) => client.events(sub).filter((e) => e.position! <= head);
      expect(of('project').map((e) => e.streamId)).to.deep.equal(['project-beta']);
      expect(of('task').map((e) => e.type)).to.deep.equal(['TaskCreated', 'TaskStatusChanged']);
      expect(of('task').every((e) => e.data?.taskId === alphaTask.id)).to.equal(true);
      expect(of('types').map((e) => e.data?.taskId)).to.deep.equal([alphaTask.id]);
      expect(of('all')).to.have.length(head - from + 1);
    });
  });

  describe('when the token may not read everything', () => {
    it('refuses a token without task_reading at the upgrade (403) and on an auth message (4003), sending it nothing', async () => {
      const token = await pluginToken(app, 'no-reader', ['task_creation', 'search']);
      const byHeader = open(bearer(token));
      const refusal = await byHeader.opened.then(
        () => undefined,
        (error: { status: number; body: string }) => error,
      );
      const byMessage = open({});
      await byMessage.opened;
      byMessage.send({ op: 'auth', token });
      await createTask(app, 'alpha', 'not for them');
      const { code } = await byMessage.closed;
      expect(refusal?.status).to.equal(403);
      expect(JSON.parse(refusal!.body).code).to.equal('MISSING_CAPABILITY');
      expect(code).to.equal(4003);
      expect(byMessage.messages.map((m) => m.op)).to.deep.equal(['error']);
      expect(byMessage.messages[0]!.code).to.equal('MISSING_CAPABILITY');
    });

    it('gives a task_reading token task and role events but no plugin events', async () => {
      const token = await pluginToken(app, 'reader', ['task_reading']);
      const from = (await app.store.headPosition()) + 1;
      await pluginToken(app, 'someone-else', ['search']);
      const task = await createTask(app, 'alpha', 'visible to readers');
      const client = await authenticated(bearer(token));
      client.send({ op: 'subscribe', id: 'all', fromPosition: from });
      await client.next((m) => m.op === 'caught_up');
      const admin = await authenticated();
      admin.send({ op: 'subscribe', id: 'all', fromPosition: from });
      await admin.next((m) => m.op === 'caught_up');
      expect(client.events().map((e) => e.streamId)).to.deep.equal(['project-alpha']);
      expect(client.events()[0]!.data?.taskId).to.equal(task.id);
      expect(admin.events().some((e) => e.streamId === 'plugin-someone-else')).to.equal(true);
    });
  });

  describe('when the token is revoked while the socket is open', () => {
    it('closes the socket with 4001 within a heartbeat', async () => {
      const token = await pluginToken(app, 'revoked-reader', ['task_reading']);
      const client = await authenticated(bearer(token));
      client.send({ op: 'subscribe', id: 's' });
      await client.next((m) => m.op === 'caught_up');
      const revoked = await api(app.baseUrl, 'POST', '/api/v1/plugins/revoked-reader/revoke', { reason: 'spec' });
      const { code } = await client.closed;
      expect(revoked.status, JSON.stringify(revoked.body)).to.be.oneOf([200, 201]);
      expect(code).to.equal(4001);
      expect(client.messages.find((m) => m.op === 'error')?.code).to.equal('TOKEN_REVOKED');
    });
  });

  describe('when a socket goes quiet', () => {
    it('closes a socket without any subscription after the idle time with 4000', async () => {
      const client = await authenticated();
      const { code, reason } = await client.closed;
      expect(code).to.equal(4000);
      expect(reason).to.match(/idle/);
    });

    it('keeps a subscribed socket open past the idle time, and cuts one that stops answering pings', async () => {
      const live = await authenticated();
      live.send({ op: 'subscribe', id: 's' });
      await live.next((m) => m.op === 'caught_up');
      const deaf = open(bearer(app.adminToken), undefined, { autoPong: false });
      await deaf.next((m) => m.op === 'authenticated');
      deaf.send({ op: 'subscribe', id: 's' });
      const { code } = await deaf.closed;
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect(code).to.equal(1006);
      expect(live.ws.readyState).to.equal(live.ws.OPEN);
    });
  });

  describe('when the server shuts its feed', () => {
    it('closes every socket with 1001 and the last position it was sent', async () => {
      const own = await startTestApp();
      try {
        await createProject(own, 'gamma');
        const client = FeedClient.open(own.baseUrl, bearer(own.adminToken));
        clients.push(client);
        await client.next((m) => m.op === 'authenticated');
        client.send({ op: 'subscribe', id: 's', fromPosition: 1 });
        await client.next((m) => m.op === 'caught_up');
        const last = client.events().at(-1)!.position!;
        await own.feed.close();
        const { code, reason } = await client.closed;
        expect(code).to.equal(1001);
        expect(reason).to.match(new RegExp(`lastPosition=${last}$`));
        expect(own.feed.stats()).to.deep.include({ connections: 0, subscriptions: 0 });
      } finally {
        await own.close();
      }
    });
  });
});
