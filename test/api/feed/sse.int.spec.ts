import { expect } from 'chai';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';
import { bearer, createProject, createTask, pluginToken, SseClient } from './feedClient.js';

describe('Live feed as server-sent events', () => {
  let app: TestApp;
  const streams: SseClient[] = [];
  const open = async (query: string, headers: Record<string, string> = bearer(app.adminToken)) => {
    const stream = await SseClient.open(app.baseUrl, query, headers);
    streams.push(stream);
    return stream;
  };

  before(async () => {
    app = await startTestApp({ feedHeartbeatMs: 500 });
    await createProject(app, 'sse');
    await createProject(app, 'other');
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.abort();
  });
  after(() => app?.close());

  describe('when a client opens the stream', () => {
    it('sends each event with id: = its position, caught_up, then live events', async () => {
      const from = (await app.store.headPosition()) + 1;
      const before = await createTask(app, 'sse', 'before the stream');
      const stream = await open(`?projectId=sse&fromPosition=${from}`);
      const caughtUp = await stream.next((f) => f.event === 'caught_up');
      const after = await createTask(app, 'sse', 'after the stream');
      await createTask(app, 'other', 'elsewhere');
      const live = await stream.next((f) => f.event === 'message' && f.data.position === after.position);
      expect(stream.response.headers.get('content-type')).to.match(/^text\/event-stream/);
      expect(stream.events()[0]).to.deep.include({ id: String(before.position) });
      expect(stream.events()[0]!.data).to.include({ type: 'TaskCreated', streamId: 'project-sse' });
      expect(Number(caughtUp.id)).to.be.at.least(before.position);
      expect(live.id).to.equal(String(after.position));
      expect(stream.events().every((f) => f.data.streamId === 'project-sse')).to.equal(true);
    });

    it('filters by types and task', async () => {
      const from = (await app.store.headPosition()) + 1;
      const task = await createTask(app, 'sse', 'moved along');
      await api(app.baseUrl, 'POST', `/api/v1/tasks/${task.id}/status`, { status: 'in_progress' });
      await createTask(app, 'sse', 'bystander');
      const byType = await open(`?types=TaskStatusChanged&fromPosition=${from}`);
      const byTask = await open(`?taskId=${task.id}&fromPosition=${from}`);
      await byType.next((f) => f.event === 'caught_up');
      await byTask.next((f) => f.event === 'caught_up');
      expect(byType.events().map((f) => f.data.type)).to.deep.equal(['TaskStatusChanged']);
      expect(byTask.events().map((f) => f.data.type)).to.deep.equal(['TaskCreated', 'TaskStatusChanged']);
    });
  });

  describe('when a client reconnects with Last-Event-ID', () => {
    it('resumes right after that event: no gap, no duplicate', async () => {
      const from = (await app.store.headPosition()) + 1;
      for (let i = 0; i < 6; i++) await createTask(app, 'sse', `resume ${i}`);
      const first = await open(`?projectId=sse&fromPosition=${from}`);
      await first.next((f) => f.event === 'message' && first.events().length >= 3);
      first.abort();
      const lastSeen = first.events()[2]!.id!;
      for (let i = 6; i < 9; i++) await createTask(app, 'sse', `resume ${i}`);
      const head = await app.store.headPosition();
      const second = await open('?projectId=sse', { ...bearer(app.adminToken), 'last-event-id': lastSeen });
      await second.next((f) => f.event === 'message' && f.data.position === head);
      const seen = [...first.events().slice(0, 3), ...second.events()].map((f) => f.data.position as number);
      const expected = (await app.store.readAll({ fromPosition: from - 1, maxCount: 1000 }))
        .filter((e) => e.streamId === 'project-sse')
        .map((e) => e.position);
      expect(seen).to.deep.equal(expected);
      expect(new Set(seen).size).to.equal(seen.length);
    });
  });

  describe('when the request cannot stream', () => {
    it('answers problem+json before any byte streams: 401 without a token, 403 without task_reading, 400 for bad input', async () => {
      const token = await pluginToken(app, 'sse-no-reader', ['task_creation']);
      const cases: Array<[string, Record<string, string>, number, string]> = [
        ['', { authorization: '' }, 401, 'AUTHENTICATION_REQUIRED'],
        ['', bearer(token), 403, 'MISSING_CAPABILITY'],
        ['?colour=red', bearer(app.adminToken), 400, 'VALIDATION_ERROR'],
        [`?token=${app.adminToken}`, bearer(app.adminToken), 400, 'VALIDATION_ERROR'],
        ['?types=lowercase', bearer(app.adminToken), 400, 'VALIDATION_ERROR'],
        ['?fromPosition=-3', bearer(app.adminToken), 400, 'VALIDATION_ERROR'],
        ['?fromPosition=999999999', bearer(app.adminToken), 400, 'POSITION_NOT_REACHED'],
      ];
      const answers = [];
      for (const [query, headers, ,] of cases) {
        const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''));
        const response = await fetch(`${app.baseUrl}/api/v1/events/stream${query}`, { headers: sent });
        const body = (await response.json()) as { code: string };
        answers.push([response.status, body.code, response.headers.get('content-type')?.split(';')[0]]);
      }
      const lastEventId = await fetch(`${app.baseUrl}/api/v1/events/stream`, { headers: { ...bearer(app.adminToken), 'last-event-id': 'abc' } });
      expect(answers).to.deep.equal(cases.map(([, , status, code]) => [status, code, 'application/problem+json']));
      expect(lastEventId.status).to.equal(400);
    });

    it('sends a token without task_reading nothing, not even the events it caused', async () => {
      const token = await pluginToken(app, 'sse-writer', ['task_creation']);
      const refused = await open('', bearer(token));
      const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { projectId: 'sse', title: 'written blind' }, bearer(token));
      expect(created.status).to.equal(201);
      expect(refused.response.status).to.equal(403);
      expect(refused.frames).to.deep.equal([]);
    });
  });

  describe('when the server shuts its feed', () => {
    it('ends the stream with a close event carrying 1001 and the last position sent', async () => {
      const own = await startTestApp();
      try {
        await createProject(own, 'closing');
        const stream = await SseClient.open(own.baseUrl, '?fromPosition=1', bearer(own.adminToken));
        streams.push(stream);
        await stream.next((f) => f.event === 'caught_up');
        const last = stream.events().at(-1)!.data.position;
        await own.feed.close();
        const close = await stream.next((f) => f.event === 'close');
        expect(close.data).to.deep.equal({ code: 1001, reason: `server shutting down; lastPosition=${last}` });
      } finally {
        await own.close();
      }
    });
  });
});
