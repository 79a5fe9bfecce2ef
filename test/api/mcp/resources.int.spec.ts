import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { buildMcpServer } from '../../../src/api/mcp/server.js';
import { servedTools } from '../../../src/api/mcp/tools.js';
import { VERSION } from '../../../src/version.js';
import { api, startTestApp, type TestApp } from '../../support/testApp.js';

type Watcher = { client: Client; updates: Array<{ uri: string; at: number }>; reads: (uri: string) => Promise<unknown> };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MCP resources (vespera://) and their subscriptions', () => {
  let app: TestApp;
  const clients: Client[] = [];
  const project = `res-${Date.now()}`;

  const rest = async (method: string, url: string, body?: unknown) => {
    const answer = await api(app.baseUrl, method, `/api/v1${url}`, body);
    expect(answer.status, `${method} ${url}: ${JSON.stringify(answer.body)}`).to.be.within(200, 299);
    return answer.body;
  };
  const tokenWith = async (capabilities: string[]): Promise<string> => {
    const id = `res-${capabilities.join('-')}-${Date.now()}`;
    await rest('POST', '/plugins', { id, name: id, type: 'agent', capabilities });
    return (await rest('POST', `/plugins/${id}/tokens`, {})).token as string;
  };
  /** The SDK's own client in a session, recording every resource notice it gets. */
  const watcher = async (token = app.adminToken): Promise<Watcher> => {
    const client = new Client({ name: 'vespera-resource-spec', version: '1.0.0' });
    const updates: Watcher['updates'] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notice) => {
      updates.push({ uri: notice.params.uri, at: performance.now() });
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${app.baseUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    clients.push(client);
    const reads = async (uri: string) => {
      const { contents } = await client.readResource({ uri });
      expect(contents).to.have.length(1);
      expect(contents[0]).to.include({ uri, mimeType: 'application/json' });
      return JSON.parse((contents[0] as { text: string }).text) as unknown;
    };
    return { client, updates, reads };
  };
  /** Waits for a notice about `uri` after `since` updates were seen; fails after `ms`. */
  const noticeFor = async (w: Watcher, uri: string, since: number, ms = 5000): Promise<void> => {
    const deadline = performance.now() + ms;
    while (!w.updates.slice(since).some((u) => u.uri === uri)) {
      expect(performance.now(), `a notifications/resources/updated for ${uri}`).to.be.below(deadline);
      await sleep(20);
    }
  };
  const refusal = async (attempt: Promise<unknown>): Promise<McpError> => {
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'the request is refused with an MCP error').to.be.instanceOf(McpError);
    return error as McpError;
  };
  const ready = (projectId: string) => `vespera://projects/${projectId}/ready`;
  const dashboard = (projectId: string) => `vespera://projects/${projectId}/dashboard`;
  const task = (id: string) => `vespera://tasks/${id}`;

  let first: { id: string };
  let second: { id: string };

  before(async () => {
    app = await startTestApp({ mcpTools: 'core' });
    await rest('POST', '/projects', { id: project, name: 'Resources' });
    first = await rest('POST', '/tasks', { title: 'First', projectId: project, priority: 'high' });
    second = await rest('POST', '/tasks', { title: 'Second', projectId: project });
    await rest('POST', `/tasks/${second.id}/dependencies`, { dependsOn: first.id, kind: 'hard' });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await app?.close();
  });

  describe('listing', () => {
    it('lists the three templates, whatever tool set is served', async () => {
      const { client } = await watcher();
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).to.deep.equal([
        'vespera://projects/{projectId}/ready',
        'vespera://projects/{projectId}/dashboard',
        'vespera://tasks/{id}',
      ]);
      expect(client.getServerCapabilities()?.resources).to.include({ subscribe: true });
    });

    it("lists each project's ready queue and dashboard, the projects REST lists", async () => {
      const { client } = await watcher();
      const uris = (await client.listResources()).resources.map((r) => r.uri);
      const projects = (await rest('GET', '/projects?limit=50')).items as Array<{ id: string }>;
      expect(uris).to.deep.equal(projects.flatMap((p) => [ready(p.id), dashboard(p.id)]));
      expect(uris).to.include(ready(project));
    });

    it('pages resources/list 50 projects at a time, and the pages together name every project once', async () => {
      for (let i = 0; i < 55; i++) await rest('POST', '/projects', { id: `${project}-p${i}`, name: `Paged ${i}` });
      const { client } = await watcher();
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor ? { cursor } : {});
        pages.push(page.resources.map((r) => r.uri));
        cursor = page.nextCursor;
      } while (cursor && pages.length < 10);
      expect(pages.length).to.be.at.least(2);
      expect(pages[0]).to.have.length(100);
      const projects: string[] = [];
      let next: string | null = null;
      do {
        const page = (await rest('GET', `/projects?limit=200${next ? `&cursor=${encodeURIComponent(next)}` : ''}`)) as {
          items: Array<{ id: string }>;
          nextCursor: string | null;
        };
        projects.push(...page.items.map((p) => p.id));
        next = page.nextCursor;
      } while (next);
      expect(pages.flat()).to.deep.equal(projects.flatMap((id) => [ready(id), dashboard(id)]));
    });
  });

  describe('reading', () => {
    it('answers exactly what the REST routes answer', async () => {
      const w = await watcher();
      expect(await w.reads(ready(project))).to.deep.equal(await rest('GET', `/tasks/ready?projectId=${project}`));
      expect(await w.reads(dashboard(project))).to.deep.equal(await rest('GET', `/tasks/dashboard?projectId=${project}`));
      expect(await w.reads(task(second.id))).to.deep.equal(await rest('GET', `/tasks/${second.id}`));
    });

    it('refuses an unknown task with -32002 TASK_NOT_FOUND, and an unknown URI with -32602', async () => {
      const { client } = await watcher();
      const missing = await refusal(client.readResource({ uri: task('no-such-task') }));
      expect(missing.code).to.equal(-32002);
      expect(missing.message).to.include('TASK_NOT_FOUND');
      expect((await refusal(client.readResource({ uri: 'vespera://nothing/here' }))).code).to.equal(-32602);
    });

    it('refuses a token without task_reading, on read, list and subscribe alike', async () => {
      const { client } = await watcher(await tokenWith(['task_creation']));
      for (const attempt of [
        client.readResource({ uri: task(first.id) }),
        client.listResources(),
        client.subscribeResource({ uri: task(first.id) }),
      ]) {
        const error = await refusal(attempt);
        expect(error.message).to.include('MISSING_CAPABILITY');
        expect(error.data).to.deep.include({ code: 'MISSING_CAPABILITY', status: 403 });
      }
    });

    it('serves resources/read to a stateless request as well, without subscriptions', async () => {
      const response = await fetch(`${app.baseUrl}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: task(first.id) } }),
      });
      expect(response.headers.get('mcp-session-id')).to.equal(null);
      const answer = (await response.json()) as { result: { contents: Array<{ text: string }> } };
      expect(JSON.parse(answer.result.contents[0]!.text)).to.deep.equal(await rest('GET', `/tasks/${first.id}`));
    });
  });

  describe('subscribing', () => {
    it('notifies a change made over REST, and a read after the notice shows it', async () => {
      const w = await watcher();
      await w.client.subscribeResource({ uri: task(first.id) });
      const seen = w.updates.length;
      await rest('PATCH', `/tasks/${first.id}`, { title: 'First, renamed' });
      await noticeFor(w, task(first.id), seen);
      expect(await w.reads(task(first.id))).to.include({ title: 'First, renamed' });
    });

    it('announces a change only once the read model shows it, also for a write that did not wait for the projection', async () => {
      const w = await watcher();
      const fifth = await rest('POST', '/tasks', { title: 'Fifth', projectId: project });
      await w.client.subscribeResource({ uri: task(fifth.id) });
      for (let i = 1; i <= 5; i++) {
        const seen = w.updates.length;
        // The command returns once the events are in the log, before the SQLite model has applied them.
        await app.commands.updateTask(fifth.id, { title: `Fifth ${i}` }, { actor: 'spec', tool: 'spec', commandId: randomUUID() });
        await noticeFor(w, task(fifth.id), seen);
        expect(await w.reads(task(fifth.id))).to.include({ title: `Fifth ${i}` });
      }
      // A tree of 1,000 tasks takes the projector a while: the notice still waits for it.
      const big = `res-big-${Date.now()}`;
      await rest('POST', '/projects', { id: big, name: 'Big' });
      await w.client.subscribeResource({ uri: dashboard(big) });
      const seen = w.updates.length;
      const children = Array.from({ length: 999 }, (_, i) => ({ title: `Leaf ${i}` }));
      await app.commands.createTaskTree(
        { projectId: big, root: { title: 'Root', children } },
        { actor: 'spec', tool: 'spec', commandId: randomUUID() },
      );
      await noticeFor(w, dashboard(big), seen);
      expect(await w.reads(dashboard(big))).to.include({ total: 1000 });
    });

    it("notifies the project's ready queue and dashboard when a task joins it", async () => {
      const w = await watcher();
      await w.client.subscribeResource({ uri: ready(project) });
      await w.client.subscribeResource({ uri: dashboard(project) });
      const seen = w.updates.length;
      const third = await rest('POST', '/tasks', { title: 'Third', projectId: project });
      await noticeFor(w, ready(project), seen);
      await noticeFor(w, dashboard(project), seen);
      const queue = (await w.reads(ready(project))) as { items: Array<{ id: string }> };
      expect(queue.items.map((t) => t.id)).to.include(third.id);
    });

    it('notifies a dependent task when the task it waits for completes, and the read shows it ready', async () => {
      const w = await watcher();
      await w.client.subscribeResource({ uri: task(second.id) });
      expect(await w.reads(task(second.id))).to.include({ ready: false });
      const seen = w.updates.length;
      await rest('POST', `/tasks/${first.id}/status`, { status: 'in_progress' });
      await rest('POST', `/tasks/${first.id}/status`, { status: 'completed' });
      await noticeFor(w, task(second.id), seen);
      expect(await w.reads(task(second.id))).to.include({ ready: true });
    });

    it('notifies every task of a moved subtree, whose depth changes', async () => {
      const w = await watcher();
      const parent = await rest('POST', '/tasks', { title: 'Parent', projectId: project });
      const child = await rest('POST', '/tasks', { title: 'Child', parentId: parent.id });
      const grandchild = await rest('POST', '/tasks', { title: 'Grandchild', parentId: child.id });
      await w.client.subscribeResource({ uri: task(grandchild.id) });
      const before = (await w.reads(task(grandchild.id))) as { depth: number };
      const seen = w.updates.length;
      await rest('POST', `/tasks/${child.id}/move`, { parentId: null });
      await noticeFor(w, task(grandchild.id), seen);
      expect(await w.reads(task(grandchild.id))).to.include({ depth: before.depth - 1 });
    });

    it('sends nothing more for a URI after unsubscribe, while other subscriptions go on', async () => {
      const w = await watcher();
      const fourth = await rest('POST', '/tasks', { title: 'Fourth', projectId: project });
      await w.client.subscribeResource({ uri: task(fourth.id) });
      await w.client.subscribeResource({ uri: dashboard(project) });
      await w.client.unsubscribeResource({ uri: task(fourth.id) });
      const seen = w.updates.length;
      await rest('PATCH', `/tasks/${fourth.id}`, { title: 'Fourth, renamed' });
      await noticeFor(w, dashboard(project), seen);
      await sleep(300);
      expect(w.updates.slice(seen).map((u) => u.uri)).to.not.include(task(fourth.id));
    });

    it('does not notify other sessions, nor URIs nobody subscribed to', async () => {
      const subscriber = await watcher();
      const bystander = await watcher();
      await subscriber.client.subscribeResource({ uri: task(first.id) });
      await rest('PATCH', `/tasks/${first.id}`, { description: 'seen by one session only' });
      await noticeFor(subscriber, task(first.id), 0);
      await sleep(200);
      expect(subscriber.updates.map((u) => u.uri)).to.deep.equal([task(first.id)]);
      expect(bystander.updates).to.deep.equal([]);
    });

    it('coalesces a burst: at most one notice per URI per 100 ms, and the last read shows the last write', async function () {
      this.timeout(20_000);
      const w = await watcher();
      const burst = await rest('POST', '/tasks', { title: 'Burst', projectId: project });
      await w.client.subscribeResource({ uri: task(burst.id) });
      const seen = w.updates.length;
      for (let i = 1; i <= 20; i++) await rest('PATCH', `/tasks/${burst.id}`, { title: `Burst ${i}` });
      await noticeFor(w, task(burst.id), seen);
      await sleep(300);
      const times = w.updates
        .slice(seen)
        .filter((u) => u.uri === task(burst.id))
        .map((u) => u.at);
      expect(times.length, 'notices for 20 writes').to.be.within(1, 19);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, 'ms between two notices').to.be.above(80);
      expect(await w.reads(task(burst.id))).to.include({ title: 'Burst 20' });
    });

    it('refuses to subscribe to a URI no template matches', async () => {
      const { client } = await watcher();
      expect((await refusal(client.subscribeResource({ uri: 'https://example.com/' }))).code).to.equal(-32602);
    });
  });

  describe('over one long-lived connection, as stdio serves them', () => {
    it('subscribes and notifies without HTTP sessions', async () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const server = buildMcpServer({
        tools: servedTools(app.operations, 'core'),
        validators: app.validators,
        authorizer: app.authorizer,
        caller: () => app.authorizer.authenticate(`Bearer ${app.adminToken}`),
        logger: app.logger,
        version: VERSION,
        resources: { operations: app.operations, changes: app.resourceChanges },
      });
      const client = new Client({ name: 'vespera-stdio-like', version: '1.0.0' });
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notice) => void updates.push(notice.params.uri));
      await Promise.all([client.connect(clientSide), server.connect(serverSide)]);
      try {
        await client.subscribeResource({ uri: task(second.id) });
        await rest('PATCH', `/tasks/${second.id}`, { title: 'Second, over stdio' });
        const deadline = performance.now() + 5000;
        while (!updates.includes(task(second.id))) {
          expect(performance.now(), 'a notice over the in-memory connection').to.be.below(deadline);
          await sleep(20);
        }
        const { contents } = await client.readResource({ uri: task(second.id) });
        expect(JSON.parse((contents[0] as { text: string }).text)).to.include({ title: 'Second, over stdio' });
      } finally {
        await client.close();
        await server.close();
      }
    });
  });
});
