import { WebSocket, type ClientOptions } from 'ws';
import { api, type TestApp } from '../../support/testApp.js';

/** A server message of the feed socket (docs/feed.md#server-messages). */
export type FeedMessage = {
  op: string;
  sub?: string;
  position?: number;
  type?: string;
  streamId?: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  recordedAt?: string;
  code?: string;
  detail?: string;
};

/** A real `ws` client that keeps every message it receives, so a spec can wait for one and read the rest. */
export class FeedClient {
  readonly messages: FeedMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(
    readonly ws: WebSocket,
    private readonly timeoutMs = 10_000,
  ) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as FeedMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
    ws.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static open(baseUrl: string, headers: Record<string, string> = {}, path = '/api/v1/ws', options: ClientOptions = {}): FeedClient {
    return new FeedClient(new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, { headers, ...options }));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message (from `from` on) that satisfies `test`; rejects after the timeout, naming what arrived. */
  async next(test: (m: FeedMessage) => boolean, from = 0): Promise<FeedMessage> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(test);
      if (found) return found;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed; got ${JSON.stringify(this.messages.slice(-5))}`);
      if (Date.now() > deadline) throw new Error(`timed out; last messages ${JSON.stringify(this.messages.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  events(sub?: string): FeedMessage[] {
    return this.messages.filter((m) => m.op === 'event' && (sub === undefined || m.sub === sub));
  }

  /** Waits until `count` events of `sub` have arrived. */
  async eventCount(sub: string, count: number): Promise<FeedMessage[]> {
    await this.next(() => this.events(sub).length >= count);
    return this.events(sub);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.closed;
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A plugin with exactly these capabilities and one token of it, through the REST API as an administrator would. */
export const pluginToken = async (app: TestApp, id: string, capabilities: string[]): Promise<string> => {
  const plugin = await api(app.baseUrl, 'POST', '/api/v1/plugins', { id, name: id, type: 'agent', capabilities });
  if (plugin.status !== 201) throw new Error(`plugin ${id}: ${JSON.stringify(plugin.body)}`);
  const issued = await api(app.baseUrl, 'POST', `/api/v1/plugins/${id}/tokens`, {});
  if (issued.status !== 201) throw new Error(`token ${id}: ${JSON.stringify(issued.body)}`);
  return issued.body.token as string;
};

export const createProject = async (app: TestApp, id: string): Promise<string> => {
  const created = await api(app.baseUrl, 'POST', '/api/v1/projects', { id, name: `Project ${id}` });
  if (created.status !== 201) throw new Error(`project ${id}: ${JSON.stringify(created.body)}`);
  return id;
};

export const createTask = async (app: TestApp, projectId: string, title: string): Promise<{ id: string; position: number }> => {
  const created = await api(app.baseUrl, 'POST', '/api/v1/tasks', { projectId, title });
  if (created.status !== 201) throw new Error(`task ${title}: ${JSON.stringify(created.body)}`);
  return { id: created.body.id as string, position: Number(created.headers.get('x-vespera-position')) };
};

export const headPosition = async (app: TestApp): Promise<number> => app.store.headPosition();
