import type { Readable, Writable } from 'node:stream';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export type JsonRpcErrorReply = { jsonrpc: '2.0'; id: string | number | null; error: { code: number; message: string } };

/** The SDK transport's own limit on one message. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;

const idOf = (value: unknown): string | number | null => {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
};

/** One line read: the JSON-RPC message it holds, or the answer to send when it holds none. */
export const readLine = (line: string): { message: JSONRPCMessage } | { problem: JsonRpcErrorReply } => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return {
      problem: {
        jsonrpc: '2.0',
        id: null,
        error: { code: ErrorCode.ParseError, message: 'Parse error: this line is not JSON; send one JSON-RPC message per line.' },
      },
    };
  }
  const checked = JSONRPCMessageSchema.safeParse(parsed);
  if (checked.success) return { message: checked.data };
  return {
    problem: {
      jsonrpc: '2.0',
      id: idOf(parsed),
      error: { code: ErrorCode.InvalidRequest, message: 'Invalid Request: this line is JSON but not a JSON-RPC 2.0 message.' },
    },
  };
};

/**
 * Newline-delimited JSON-RPC over a pair of streams (stdin/stdout, or a bridged client's socket), framed as the SDK's
 * StdioServerTransport frames it, with the SDK's message schema and serializer. It stands in for that transport
 * because the SDK's drops a line it cannot parse without a word (it only calls `onerror`): here such a line is
 * answered, -32700 or -32600 as JSON-RPC says. Each line is parsed and checked once, and handed on parsed.
 */
export class JsonRpcLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overlong = false;
  private started = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
  ) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('JsonRpcLineTransport already started');
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onInputError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.write(serializeMessage(message));
  }

  async close(): Promise<void> {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onInputError);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.pending = [];
    this.pendingBytes = 0;
    this.onclose?.();
  }

  private write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(text)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  private readonly onData = (chunk: Buffer | string): void => {
    let rest = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let end = rest.indexOf(0x0a); end !== -1; end = rest.indexOf(0x0a)) {
      this.collect(rest.subarray(0, end));
      this.line();
      rest = rest.subarray(end + 1);
    }
    this.collect(rest);
  };

  /** A last line without its newline is still a message. */
  private readonly onEnd = (): void => {
    if (this.pendingBytes > 0 || this.overlong) this.line();
  };

  private readonly onInputError = (error: Error): void => this.onerror?.(error);

  private collect(part: Buffer): void {
    if (this.overlong || part.length === 0) return;
    if (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      this.overlong = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private line(): void {
    const text = (this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)).toString('utf8').replace(/\r$/, '');
    const overlong = this.overlong;
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
    if (overlong) {
      this.reply({
        jsonrpc: '2.0',
        id: null,
        error: { code: ErrorCode.ParseError, message: `Parse error: a line longer than ${MAX_LINE_BYTES} bytes was dropped.` },
      });
      return;
    }
    if (text.trim() === '') return;
    const read = readLine(text);
    if ('problem' in read) this.reply(read.problem);
    else this.onmessage?.(read.message);
  }

  private reply(answer: JsonRpcErrorReply): void {
    void this.write(`${JSON.stringify(answer)}\n`);
  }
}
