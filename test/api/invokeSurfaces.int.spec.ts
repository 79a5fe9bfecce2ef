import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'chai';
import express from 'express';
import type { Caller } from '../../src/api/auth/authorizer.js';
import { buildMcpServer } from '../../src/api/mcp/server.js';
import { mcpTools } from '../../src/api/mcp/tools.js';
import { problemMiddleware } from '../../src/api/rest/problem.js';
import { restRouter } from '../../src/api/rest/router.js';
import { deep, fakeCatalog, reader, writer } from '../support/fakeCatalog.js';

type Outcome = { code: string; status: number } | { ok: Record<string, unknown> };

/**
 * REST and MCP are two adapters over one invoke path: the same call, made over either surface by the same
 * caller, runs the operation the same way and is refused with the same code and status.
 */
describe('REST and MCP share one invoke path', () => {
  const catalog = fakeCatalog();
  let caller: Caller | undefined;
  let http: HttpServer;
  let baseUrl: string;
  let client: Client;
  let closeMcp: () => Promise<void>;

  before(async () => {
    const app = express();
    app.use(express.json());
    app.use((_req, res, next) => {
      res.setHeader('x-correlation-id', 'corr-rest');
      res.locals.caller = caller;
      next();
    });
    app.use(restRouter({ operations: catalog.operations, validators: catalog.validators, logger: catalog.logger, authorizer: catalog.authorizer }));
    app.use(problemMiddleware(catalog.logger));
    http = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => http.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = buildMcpServer({
      tools: mcpTools(catalog.operations),
      validators: catalog.validators,
      authorizer: catalog.authorizer,
      caller: async () => caller,
      logger: catalog.logger,
      version: '0.0.0',
    });
    client = new Client({ name: 'invoke-spec', version: '1.0.0' });
    await Promise.all([client.connect(clientSide), server.connect(serverSide)]);
    closeMcp = async () => {
      await client.close();
      await server.close();
    };
  });

  after(async () => {
    await closeMcp();
    await new Promise((resolve) => http.close(resolve));
  });

  beforeEach(() => {
    catalog.calls.length = 0;
  });

  const overRest = async (id: string, body: Record<string, unknown>): Promise<Outcome> => {
    const response = await fetch(`${baseUrl}/things/${id}/rename`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    return response.ok ? { ok: answer } : { code: answer.code as string, status: response.status };
  };

  const overMcp = async (args: Record<string, unknown>): Promise<Outcome> => {
    const result = (await client.callTool({ name: 'rename_thing', arguments: args })) as CallToolResult;
    if (!result.isError) return { ok: result.structuredContent! };
    const error = (result._meta as Record<string, { code: string; status: number }>)['vespera/error']!;
    return { code: error.code, status: error.status };
  };

  /** The same call over both surfaces: REST takes the id from its path, MCP from its arguments. */
  const both = async (who: Caller | undefined, args: { id: string } & Record<string, unknown>): Promise<[Outcome, Outcome]> => {
    caller = who;
    const { id, ...body } = args;
    return [await overRest(id, body), await overMcp(args)];
  };

  const refusals: Array<[string, Caller | undefined, { id: string } & Record<string, unknown>, string, number]> = [
    ['nobody is authenticated', undefined, { id: 'a' }, 'AUTHENTICATION_REQUIRED', 401],
    ['the caller lacks the capability', reader, { id: 'a' }, 'MISSING_CAPABILITY', 403],
    ['an argument breaks the schema', writer, { id: 'a', count: 'many' }, 'VALIDATION_ERROR', 400],
    ['an argument is unknown', writer, { id: 'a', colour: 'red' }, 'VALIDATION_ERROR', 400],
    ['the arguments nest too deep', writer, { id: 'a', nested: deep(40) }, 'INPUT_TOO_DEEP', 400],
    ['the operation refuses', writer, { id: 'missing' }, 'THING_NOT_FOUND', 404],
    ['the answer breaks its schema', writer, { id: 'broken' }, 'INTERNAL_ERROR', 500],
  ];

  for (const [when, who, args, code, status] of refusals) {
    describe(`when ${when}`, () => {
      it(`refuses with ${code} over both`, async () => {
        const expected = { code, status };
        const [rest, mcp] = await both(who, args);
        expect(rest).to.deep.equal(expected);
        expect(mcp).to.deep.equal(expected);
      });
    });
  }

  describe('when the call is valid', () => {
    it('runs the operation alike, recording which surface called', async () => {
      const [rest, mcp] = await both(writer, { id: 'a' });
      expect(rest).to.deep.equal({ ok: { id: 'a' } });
      expect(mcp).to.deep.equal({ ok: { id: 'a' } });
      const [viaRest, viaMcp] = catalog.calls;
      expect(viaRest!.args).to.deep.equal(viaMcp!.args);
      expect(viaRest!.ctx).to.include({ actor: 'writer', role: 'developer', tool: 'rest', correlationId: 'corr-rest' });
      expect(viaMcp!.ctx).to.include({ actor: 'writer', role: 'developer', tool: 'mcp:rename_thing' });
      expect(viaRest!.ctx.commandId).to.not.equal(viaMcp!.ctx.commandId);
    });
  });
});
