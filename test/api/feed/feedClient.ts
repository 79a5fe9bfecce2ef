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
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed; got ${this.summary()}`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.summary()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The last few messages, shortened, for a failure message. */
  summary(): string {
    return `${this.messages.length} messages, last: ${this.messages
      .slice(-4)
      .map((m) => JSON.stringify(m).slice(0, 160))
      .join(' ')}`;
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

/** One server-sent event as the stream framed it. */
export type SseFrame = { id?: string; event: string; data: Record<string, unknown> };

/** A real fetch of the SSE stream, read frame by frame as an EventSource would. */
export class SseClient {
  readonly frames: SseFrame[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  private constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {}

  static async open(baseUrl: string, query: string, headers: Record<string, string>): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/api/v1/events/stream${query}`, { headers, signal: controller.signal });
    const client = new SseClient(response, controller);
    if (response.ok) void client.read();
    return client;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const at = line.indexOf(': ');
            if (at > 0) fields[line.slice(0, at)] = line.slice(at + 2);
          }
          if (fields.data === undefined) continue;
          this.frames.push({
            ...(fields.id === undefined ? {} : { id: fields.id }),
            event: fields.event ?? 'message',
            data: JSON.parse(fields.data),
          });
          this.wake?.();
        }
      }
    } catch {
      // aborted by the spec
    }
    this.ended = true;
    this.wake?.();
  }

  events(): SseFrame[] {
    return this.frames.filter((f) => f.event === 'message');
  }

  async next(test: (f: SseFrame) => boolean, timeoutMs = 10_000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(test);
      if (found) return found;
      const got = () =>
        this.frames
          .slice(-3)
          .map((f) => JSON.stringify(f).slice(0, 160))
          .join(' ');
      if (this.ended) throw new Error(`stream ended; got ${got()}`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${got()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  get done(): boolean {
    return this.ended;
  }

  abort(): void {
    this.controller.abort();
  }
}
