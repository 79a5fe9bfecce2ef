import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import { VERSION } from '../../../src/version.js';
import { buildMcpServer } from '../../../src/api/mcp/server.js';
import { servedTools } from '../../../src/api/mcp/tools.js';
import type { TestApp } from '../../support/testApp.js';

export type Connected = { client: Client; close: () => Promise<void> };

/** The SDK's own Client, linked in memory to a Vespera MCP server over `app`'s catalog, calling with `token`. */
export const connect = async (app: TestApp, { toolSet = 'all', token = app.adminToken } = {}): Promise<Connected> => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = buildMcpServer({
    tools: servedTools(app.operations, toolSet),
    validators: app.validators,
    authorizer: app.authorizer,
    idempotency: app.idempotency,
    caller: () => app.authorizer.authenticate(`Bearer ${token}`),
    logger: app.logger,
    version: VERSION,
  });
  const client = new Client({ name: 'vespera-spec', version: '1.0.0' });
  await Promise.all([client.connect(clientSide), server.connect(serverSide)]);
  await client.listTools(); // caches the output schemas, so every callTool below is checked against them
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
};

export type ToolError = { code: string; status: number; message: string; hint: string; details: Record<string, unknown>; correlationId?: string };

export const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;

const textOf = (result: CallToolResult): string => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** The structured answer of a successful call (its one-line text is checked too). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ok = <T = Record<string, any>>(result: CallToolResult): T => {
  expect(result.isError ?? false, textOf(result)).to.equal(false);
  expect(result.structuredContent).to.be.an('object');
  expect(textOf(result)).to.be.a('string').and.not.include('\n');
  return result.structuredContent as T;
};

/** A refusal: an isError result whose text starts with the code and carries a hint, and the same under `_meta`. */
export const refused = (result: CallToolResult, code: string): ToolError => {
  expect(result.isError, JSON.stringify(result.structuredContent ?? result.content)).to.equal(true);
  const text = textOf(result);
  expect(text.startsWith(`${code}: `), text).to.equal(true);
  expect(text).to.include(' Hint: ');
  const error = (result._meta as Record<string, ToolError>)['vespera/error']!;
  expect(error.code).to.equal(code);
  expect(error.hint).to.be.a('string').and.not.equal('');
  return error;
};
