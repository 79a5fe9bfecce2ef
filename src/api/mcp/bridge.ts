import readline from 'node:readline';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { BridgeHello } from './socket.js';

/**
 * A `vespera mcp` that does not own its data directory forwards its agent's stdio, line for line, to the owner's
 * MCP socket (socket.ts). It keeps what a new owner needs to take the session over: the agent's `initialize` and
 * `notifications/initialized`, and its resource subscriptions. When the owner goes away, the calls under way then
 * are answered with an error (they may or may not have been applied: the agent retries them, a write with the same
 * idempotencyKey at most once), calls made meanwhile wait, and `connect` finds the next owner — or makes this
 * process the owner — after which the session is replayed and the waiting calls go on. The agent sees at most the
 * calls that were in flight fail, never a dead server.
 */
export type BridgeDeps = Readonly<{
  /** A connected socket to the current owner; it waits for one (or becomes one) as long as it takes. */
  connect: () => Promise<Duplex>;
  hello: BridgeHello;
  input: Readable;
  output: Writable;
  logger: Logger;
}>;

type JsonRpc = {
  id?: string | number | null;
  method?: string;
  params?: { uri?: unknown } & Record<string, unknown>;
  result?: unknown;
  error?: unknown;
};

const REPLAY = 'vespera-bridge-replay-';

/** What a call under way when the owner went away is answered: a tool error for tools/call, a JSON-RPC error else. */
export const OWNER_GONE =
  'OWNER_GONE: the Vespera process that owned the data directory went away during this call, so it may or may not have been applied. ' +
  'Hint: retry it (a write with the same idempotencyKey is applied at most once); this session is already reconnecting.';

const parse = (line: string): JsonRpc | undefined => {
  try {
    const message = JSON.parse(line) as unknown;
    return typeof message === 'object' && message !== null && !Array.isArray(message) ? (message as JsonRpc) : undefined;
  } catch {
    return undefined;
  }
};

const keyOf = (id: unknown): string => JSON.stringify(id);

export class McpBridge {
  private socket: Duplex | undefined;
  private waiting: string[] = [];
  /** Requests of the agent the owner has not answered: id key → [id, method]. */
  private readonly pending = new Map<string, [string | number, string]>();
  private initialize: JsonRpc | undefined;
  private initialized: string | undefined;
  private readonly subscriptions = new Map<string, JsonRpc>();
  private readonly replays = new Set<string>();
  private replayCount = 0;
  private closed = false;
  private reconnecting: Promise<void> | undefined;
  /** How often the session was taken over by another owner. */
  reconnects = 0;

  constructor(private readonly deps: BridgeDeps) {}

  /** Connects to the owner and forwards until the agent closes its input; resolves then. */
  async run(): Promise<void> {
    const agent = readline.createInterface({ input: this.deps.input, crlfDelay: Infinity });
    agent.on('line', (line) => this.fromAgent(line));
    agent.on('error', (error) => this.deps.logger.warn({ err: error }, 'reading the agent failed'));
    const ended = new Promise<void>((resolve) => agent.once('close', () => resolve()));
    await this.attach();
    await ended;
    this.close();
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private fromAgent(line: string): void {
    if (line.trim() === '') return;
    const message = parse(line);
    if (message?.method !== undefined) {
      if (message.method === 'initialize') this.initialize = message;
      else if (message.method === 'notifications/initialized') this.initialized = line;
      else if (message.method === 'resources/subscribe' && typeof message.params?.uri === 'string')
        this.subscriptions.set(message.params.uri, message);
      else if (message.method === 'resources/unsubscribe' && typeof message.params?.uri === 'string') this.subscriptions.delete(message.params.uri);
      if (message.id !== undefined && message.id !== null) this.pending.set(keyOf(message.id), [message.id, message.method]);
    }
    if (this.socket) this.socket.write(`${line}\n`);
    else this.waiting.push(line);
  }

  private fromOwner(line: string): void {
    const message = parse(line);
    if (message && message.method === undefined && message.id !== undefined && ('result' in message || 'error' in message)) {
      const key = keyOf(message.id);
      if (this.replays.delete(key)) {
        if ('error' in message) this.deps.logger.warn({ error: message.error }, 'the new owner refused the replayed session');
        return;
      }
      this.pending.delete(key);
    }
    this.deps.output.write(`${line}\n`);
  }

  private replay(message: JsonRpc): string {
    const id = `${REPLAY}${++this.replayCount}`;
    this.replays.add(keyOf(id));
    return `${JSON.stringify({ ...message, id })}\n`;
  }

  private async attach(): Promise<void> {
    const socket = await this.deps.connect();
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.write(`${JSON.stringify(this.deps.hello)}\n`);
    // A session taken over: the new owner hears the agent's handshake and subscriptions again, and answers to them stay here.
    if (this.reconnects > 0 && this.initialize) {
      socket.write(this.replay(this.initialize));
      if (this.initialized) socket.write(`${this.initialized}\n`);
      for (const subscribe of this.subscriptions.values()) socket.write(this.replay(subscribe));
    }
    for (const line of this.waiting.splice(0)) socket.write(`${line}\n`);
    this.socket = socket;
    const owner = readline.createInterface({ input: socket, crlfDelay: Infinity });
    owner.on('line', (line) => this.fromOwner(line));
    // readline re-emits the socket's errors (ECONNRESET when the owner dies): the socket's close handles them.
    owner.on('error', () => undefined);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      owner.close();
      if (this.socket === socket) this.ownerGone();
    });
  }

  private ownerGone(): void {
    this.socket = undefined;
    if (this.closed) return;
    for (const [id, method] of this.pending.values()) {
      const answer =
        method === 'tools/call'
          ? { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: OWNER_GONE }], isError: true } }
          : { jsonrpc: '2.0', id, error: { code: -32603, message: OWNER_GONE } };
      this.deps.output.write(`${JSON.stringify(answer)}\n`);
    }
    this.pending.clear();
    this.replays.clear();
    this.reconnects += 1;
    this.deps.logger.warn('the owner of the data directory went away; reconnecting');
    this.reconnecting ??= this.attach()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'the bridge could not reconnect'))
      .finally(() => (this.reconnecting = undefined));
  }
}
