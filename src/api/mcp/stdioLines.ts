import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCode, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

export type JsonRpcErrorReply = { jsonrpc: '2.0'; id: string | number | null; error: { code: number; message: string } };

/** The SDK transport's own limit on one message. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;

const idOf = (value: unknown): string | number | null => {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
};

/** Why one line is not a JSON-RPC message (the answer to send), or undefined when it is one. */
export const lineProblem = (line: string): JsonRpcErrorReply | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return {
      jsonrpc: '2.0',
      id: null,
      error: { code: ErrorCode.ParseError, message: 'Parse error: this line is not JSON; send one JSON-RPC message per line.' },
    };
  }
  if (JSONRPCMessageSchema.safeParse(parsed).success) return undefined;
  return {
    jsonrpc: '2.0',
    id: idOf(parsed),
    error: { code: ErrorCode.InvalidRequest, message: 'Invalid Request: this line is JSON but not a JSON-RPC 2.0 message.' },
  };
};

/**
 * Sits between stdin and the SDK's stdio transport, which drops a line it cannot parse without a word (it only
 * calls `onerror`). Lines that are not JSON-RPC are answered here, -32700 or -32600 as JSON-RPC says; the
 * others pass on unchanged.
 */
export class JsonRpcLines extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overlong = false;

  constructor(private readonly reply: (answer: JsonRpcErrorReply) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let rest = chunk;
    for (let end = rest.indexOf(0x0a); end !== -1; end = rest.indexOf(0x0a)) {
      this.collect(rest.subarray(0, end));
      this.line();
      rest = rest.subarray(end + 1);
    }
    this.collect(rest);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pendingBytes > 0 || this.overlong) this.line();
    done();
  }

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
    const text = Buffer.concat(this.pending).toString('utf8').replace(/\r$/, '');
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
    const problem = lineProblem(text);
    if (problem) this.reply(problem);
    else this.push(`${text}\n`);
  }
}
