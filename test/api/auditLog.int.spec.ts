import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { StoredEvent } from '../../src/events/types.js';
import { api, startTestApp, type TestApp } from '../support/testApp.js';

/** The event browser over real HTTP: GET /audit/events and GET /audit/correlations/:id against a log of a few hundred events. */
describe('Audit log browser (GET /api/v1/audit/events, /audit/correlations/:id)', function () {
  this.timeout(60_000);
  let app: TestApp;
  /** The whole log, as the store hands it out: the oracle every filter is checked against. */
  let log: StoredEvent[];
  let taskIds: string[];
  const treeCorrelation = `spec-tree-${randomUUID()}`;

  const readWholeLog = async (): Promise<StoredEvent[]> => {
    const all: StoredEvent[] = [];
    for (let batch = await app.store.readAll(); batch.length > 0; batch = await app.store.readAll({ fromPosition: batch.at(-1)!.position })) {
      all.push(...batch);
    }
    return all;
  };

  /** Every item of a listing, following nextCursor; checks each page's size and that the last page says so. */
  const listAll = async (query: string, limit = 40): Promise<Array<Record<string, unknown>>> => {
    const items: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages, 'paging must end').to.be.below(100);
      const url = `/api/v1/audit/events?${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await api(app.baseUrl, 'GET', url);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body.items.length).to.be.at.most(limit);
      items.push(...(response.body.items as Array<Record<string, unknown>>));
      cursor = response.body.nextCursor as string | null;
      if (cursor === null) return items;
    }
  };
  const positionsOf = (items: ReadonlyArray<{ position?: unknown }>) => items.map((i) => i.position as number);
  const expected = (keep: (e: StoredEvent) => boolean) => log.filter(keep).map((e) => e.position);

  before(async () => {
    app = await startTestApp({ rateLimitPerMinute: 0 });
    expect((await api(app.baseUrl, 'POST', '/api/v1/projects', { id: 'alpha', name: 'Alpha' })).status).to.equal(201);
    taskIds = [];
    for (let i = 0; i < 120; i++) {
      const meta = {
        actor: `agent-${i % 4}`,
        tool: i % 5 === 0 ? 'mcp:create_task' : 'cli',
        commandId: `spec-${randomUUID()}`,
        ...(i % 3 === 0 ? { role: 'coder' } : {}),
      };
      const created = await app.commands.createTask({ title: `browse ${i}`, ...(i % 2 ? { projectId: 'alpha' } : {}) }, meta);
      taskIds.push(created.taskId);
      if (i % 2 === 0) await app.commands.updateTask(created.taskId, { title: `renamed ${i}` }, { ...meta, commandId: `spec-${randomUUID()}` });
    }
    const tree = await api(
      app.baseUrl,
      'POST',
      '/api/v1/tasks/tree',
      { root: { title: 'tree root', children: [{ title: 'leaf a' }, { title: 'leaf b' }] } },
      { 'x-correlation-id': treeCorrelation },
    );
    expect(tree.status, JSON.stringify(tree.body)).to.equal(201);
    log = await readWholeLog();
    expect(log.length).to.be.above(180);
  });

  after(() => app?.close());

  describe('without filters', () => {
    it('pages through the whole log in position order, without a gap or a duplicate, nextCursor null at the end', async () => {
      const items = await listAll('', 37);
      expect(positionsOf(items)).to.deep.equal(log.map((e) => e.position));
      const first = log[0]!;
      expect(items[0]).to.deep.equal({
        position: first.position,
        id: first.id,
        streamId: first.streamId,
        revision: first.revision,
        type: first.type,
        data: first.data,
        metadata: first.metadata,
        recordedAt: first.recordedAt,
      });
    });

    it('answers 100 events by default', async () => {
      const response = await api(app.baseUrl, 'GET', '/api/v1/audit/events');
      expect(response.body.items).to.have.length(100);
      expect(response.body.nextCursor).to.be.a('string');
    });
  });

  describe('with one filter', () => {
    it('keeps the events of one actor', async () =>
      expect(positionsOf(await listAll('actor=agent-1'))).to.deep.equal(expected((e) => e.metadata.actor === 'agent-1')));

    it('keeps the events of callers acting for one role', async () =>
      expect(positionsOf(await listAll('role=coder'))).to.deep.equal(expected((e) => e.metadata.role === 'coder')));

    it('keeps the events of one surface', async () =>
      expect(positionsOf(await listAll(`tool=${encodeURIComponent('mcp:create_task')}`))).to.deep.equal(
        expected((e) => e.metadata.tool === 'mcp:create_task'),
      ));

    it('keeps one stream, named by streamId or by projectId', async () => {
      const alpha = expected((e) => e.streamId === 'project-alpha');
      expect(alpha.length).to.be.above(60);
      expect(positionsOf(await listAll('streamId=project-alpha'))).to.deep.equal(alpha);
      expect(positionsOf(await listAll('projectId=alpha'))).to.deep.equal(alpha);
      expect(positionsOf(await listAll('projectId=alpha&streamId=project-alpha')), 'both, when they agree').to.deep.equal(alpha);
    });

    it('keeps the events about one task', async () => {
      const taskId = taskIds[10]!;
      const mine = expected((e) => (e.data as { taskId?: string }).taskId === taskId);
      expect(mine).to.have.length(2);
      expect(positionsOf(await listAll(`taskId=${taskId}`))).to.deep.equal(mine);
    });

    it('keeps any of several types, repeated or as a comma list', async () => {
      const types = new Set(['TaskUpdated', 'ProjectCreated']);
      const both = expected((e) => types.has(e.type));
      expect(positionsOf(await listAll('type=TaskUpdated&type=ProjectCreated'))).to.deep.equal(both);
      expect(positionsOf(await listAll('type=TaskUpdated,ProjectCreated'))).to.deep.equal(both);
      expect(positionsOf(await listAll('type=TaskUpdated'))).to.deep.equal(expected((e) => e.type === 'TaskUpdated'));
    });

    it('keeps the events of one request (correlationId)', async () => {
      const tree = expected((e) => e.metadata.correlationId === treeCorrelation);
      expect(tree.length).to.be.at.least(1);
      expect(positionsOf(await listAll(`correlationId=${treeCorrelation}`))).to.deep.equal(tree);
    });

    it('bounds by position, both ends inclusive', async () => {
      const [from, to] = [log[20]!.position, log[60]!.position];
      expect(positionsOf(await listAll(`fromPosition=${from}&toPosition=${to}`, 7))).to.deep.equal(log.slice(20, 61).map((e) => e.position));
    });

    it('bounds by time, both ends inclusive, an offset read as the same instant in UTC', async () => {
      const [from, to] = [log[30]!.recordedAt, log[90]!.recordedAt];
      const plusTwo = (iso: string) => new Date(Date.parse(iso) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
      const inRange = expected((e) => e.recordedAt >= from && e.recordedAt <= to);
      expect(inRange.length).to.be.at.least(61);
      expect(positionsOf(await listAll(`from=${encodeURIComponent(plusTwo(from))}&to=${encodeURIComponent(plusTwo(to))}`))).to.deep.equal(inRange);
    });
  });

  describe('with several filters', () => {
    it('keeps what matches all of them', async () =>
      expect(positionsOf(await listAll('projectId=alpha&actor=agent-1&type=TaskCreated&role=coder', 5))).to.deep.equal(
        expected((e) => e.streamId === 'project-alpha' && e.metadata.actor === 'agent-1' && e.type === 'TaskCreated' && e.metadata.role === 'coder'),
      ));

    it('answers an empty last page when nothing matches', async () => {
      const response = await api(app.baseUrl, 'GET', '/api/v1/audit/events?actor=nobody&projectId=alpha');
      expect(response.status).to.equal(200);
      expect(response.body).to.deep.equal({ items: [], nextCursor: null });
    });
  });

  describe('with bad input', () => {
    const refused = async (query: string, code: string) => {
      const response = await api(app.baseUrl, 'GET', `/api/v1/audit/events?${query}`);
      expect(response.status, JSON.stringify(response.body)).to.equal(400);
      expect(response.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(response.body.code).to.equal(code);
      expect(response.body.detail).to.be.a('string');
      return response.body as { detail: string; hint?: string };
    };

    it('refuses a time that is not ISO-8601 with a zone (INVALID_TIME)', async () => {
      expect((await refused('from=yesterday', 'INVALID_TIME')).detail).to.include('from');
      await refused('to=2026-01-31T09:30:00', 'INVALID_TIME');
      await refused('from=2026-02-30T09:30:00Z', 'INVALID_TIME');
    });

    it('refuses `from` after `to`, and fromPosition after toPosition (INVALID_RANGE)', async () => {
      await refused('from=2026-02-01T00:00:00Z&to=2026-01-31T00:00:00Z', 'INVALID_RANGE');
      await refused('fromPosition=9&toPosition=3', 'INVALID_RANGE');
    });

    it('refuses a projectId and a streamId that disagree (CONFLICTING_FILTERS)', async () =>
      refused('projectId=alpha&streamId=project-default', 'CONFLICTING_FILTERS'));

    it('refuses a page over 500, more than 20 types, a bad type name or position, an unknown field (VALIDATION_ERROR)', async () => {
      await refused('limit=501', 'VALIDATION_ERROR');
      await refused(`type=${Array.from({ length: 21 }, (_, i) => `T${i}`).join(',')}`, 'VALIDATION_ERROR');
      await refused('type=drop%20table', 'VALIDATION_ERROR');
      await refused('fromPosition=0', 'VALIDATION_ERROR');
      await refused('colour=red', 'VALIDATION_ERROR');
    });

    it('refuses a cursor it did not hand out (INVALID_CURSOR)', async () => {
      await refused('cursor=nonsense', 'INVALID_CURSOR');
      await refused(`cursor=${Buffer.from(JSON.stringify([-4])).toString('base64url')}`, 'INVALID_CURSOR');
    });
  });

  describe('GET /audit/correlations/:correlationId', () => {
    it("answers one request's events in position order, paginated", async () => {
      const tree = expected((e) => e.metadata.correlationId === treeCorrelation);
      const first = await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/${treeCorrelation}?limit=2`);
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.body.correlationId).to.equal(treeCorrelation);
      const items = [...first.body.items];
      for (let cursor = first.body.nextCursor as string | null; cursor;) {
        const next = await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/${treeCorrelation}?limit=2&cursor=${cursor}`);
        items.push(...next.body.items);
        cursor = next.body.nextCursor;
      }
      expect(positionsOf(items)).to.deep.equal(tree);
    });

    it('answers 404 CORRELATION_NOT_FOUND for an id no event carries', async () => {
      const response = await api(app.baseUrl, 'GET', `/api/v1/audit/correlations/never-${randomUUID()}`);
      expect(response.status).to.equal(404);
      expect(response.body.code).to.equal('CORRELATION_NOT_FOUND');
    });
  });

  describe('capabilities', () => {
    const tokenWith = async (capabilities: string[]) => {
      const pluginId = `browse-${randomUUID().slice(0, 8)}`;
      expect((await api(app.baseUrl, 'POST', '/api/v1/plugins', { id: pluginId, name: pluginId, type: 'agent', capabilities })).status).to.equal(201);
      const issued = await api(app.baseUrl, 'POST', `/api/v1/plugins/${pluginId}/tokens`, { capabilities });
      return { authorization: `Bearer ${issued.body.token as string}` };
    };

    it('refuses a token that can read tasks but not the audit log (403 MISSING_CAPABILITY)', async () => {
      const headers = await tokenWith(['task_reading']);
      for (const url of ['/api/v1/audit/events', `/api/v1/audit/correlations/${treeCorrelation}`]) {
        const response = await api(app.baseUrl, 'GET', url, undefined, headers);
        expect(response.status).to.equal(403);
        expect(response.body.code).to.equal('MISSING_CAPABILITY');
      }
    });

    it('lets audit_reading and audit_admin through', async () => {
      for (const capability of ['audit_reading', 'audit_admin']) {
        const response = await api(app.baseUrl, 'GET', '/api/v1/audit/events?limit=1', undefined, await tokenWith([capability]));
        expect(response.status, capability).to.equal(200);
        expect(response.body.items).to.have.length(1);
      }
    });
  });
});
