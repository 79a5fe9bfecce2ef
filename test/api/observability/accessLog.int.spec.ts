import { expect } from 'chai';
import { api } from '../../support/testApp.js';
import { startLoggedApp, until, type LogLine, type LoggedApp } from './support.js';

/**
 * The access log as an operator reads it: one line per request with method, route pattern, status, ms, actor, role,
 * operation, tool and correlationId; probes and scrapes at debug; never a header, a body or an id-bearing path as the route.
 */
describe('Access log (one line per request)', () => {
  let app: LoggedApp;
  const DEBUG = 20;
  const INFO = 30;
  before(async () => {
    app = await startLoggedApp({ metrics: 'public' });
  });
  after(async () => {
    await app?.close();
  });

  const send = (method: string, url: string, correlationId: string, body?: unknown, headers: Record<string, string> = {}) =>
    api(app.baseUrl, method, url, body, { authorization: `Bearer ${app.adminToken}`, 'x-correlation-id': correlationId, ...headers });
  const linesOf = (correlationId: string): LogLine[] => app.lines.filter((l) => l.msg.startsWith('request') && l.correlationId === correlationId);
  const lineOf = (correlationId: string) => until(`the access-log line of ${correlationId}`, () => linesOf(correlationId)[0]);

  it('logs a write once, at info, with the route pattern, status, duration, actor, operation, tool and correlationId', async () => {
    const id = `log-${Date.now().toString(36)}`;
    expect((await send('POST', '/api/v1/projects', 'log-spec-create', { id, name: 'Logged' })).status).to.equal(201);
    const line = await lineOf('log-spec-create');
    expect(line).to.include({
      level: INFO,
      method: 'POST',
      route: '/api/v1/projects',
      status: 201,
      actor: 'admin',
      operation: 'createProject',
      tool: 'rest',
      correlationId: 'log-spec-create',
    });
    expect(line.ms).to.be.a('number').and.at.least(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(linesOf('log-spec-create')).to.have.length(1);
  });

  it('names the route by its pattern, not by the ids in the path, and a path no route serves as unmatched', async () => {
    const task = await send('POST', '/api/v1/tasks', 'log-spec-task', { title: 'Logged task' });
    expect(task.status).to.equal(201);
    await send('GET', `/api/v1/tasks/${task.body.id}`, 'log-spec-get');
    await send('GET', '/api/v1/tasks/0190aaaa-0000-7000-8000-000000000000', 'log-spec-missing');
    await send('GET', '/no/such/route/42', 'log-spec-unmatched');
    expect(await lineOf('log-spec-get')).to.include({ route: '/api/v1/tasks/:id', status: 200, operation: 'getTask' });
    expect(await lineOf('log-spec-missing')).to.include({ route: '/api/v1/tasks/:id', status: 404, level: INFO });
    expect(await lineOf('log-spec-unmatched')).to.include({ route: 'unmatched', status: 404 });
    const all = JSON.stringify(app.lines.filter((l) => l.msg.startsWith('request')));
    expect(all).to.not.include(String(task.body.id));
  });

  it('logs /health, /health/ready and /metrics at debug', async () => {
    await send('GET', '/health', 'log-spec-health');
    await send('GET', '/health/ready', 'log-spec-ready');
    await send('GET', '/metrics', 'log-spec-metrics');
    expect(await lineOf('log-spec-health')).to.include({ level: DEBUG, route: '/health' });
    expect(await lineOf('log-spec-ready')).to.include({ level: DEBUG, route: '/health/ready' });
    expect(await lineOf('log-spec-metrics')).to.include({ level: DEBUG, route: '/metrics', status: 200 });
  });

  it('names the MCP tool of a tools/call request', async () => {
    const response = await fetch(`${app.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${app.adminToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'x-correlation-id': 'log-spec-mcp',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_tasks', arguments: { limit: 1 } } }),
    });
    expect(response.status).to.equal(200);
    const line = await lineOf('log-spec-mcp');
    expect(line).to.include({ method: 'POST', tool: 'mcp:list_tasks', actor: 'admin', status: 200 });
    expect(line.route).to.match(/^\/mcp/);
  });

  it('never writes the Authorization header or a request body into the log', async () => {
    const secretTitle = `body-marker-${Date.now()}`;
    await send('POST', '/api/v1/tasks', 'log-spec-secret', { title: secretTitle }, { 'x-vespera-note': 'header-marker' });
    await lineOf('log-spec-secret');
    const everything = JSON.stringify(app.lines);
    expect(everything).to.not.include(app.adminToken);
    expect(everything).to.not.include(app.adminToken.split('.')[2]!);
    expect(everything).to.not.include(secretTitle);
    expect(everything).to.not.include('header-marker');
  });
});
