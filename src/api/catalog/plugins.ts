import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { conflict } from '../../errors.js';
import type { PluginCommands } from '../../commands/plugins/commands.js';
import { CAPABILITIES } from '../../events/vocabulary.js';
import { getPlugin, listPlugins } from '../../queries/plugins.js';
import type { TokenService } from '../auth/tokens.js';
import * as s from '../schemas.js';
import { defineOperation, requestMeta, type AnyOperation, type OperationContext } from './operation.js';

export type PluginCatalogDeps = Readonly<{
  plugins: PluginCommands;
  tokens: TokenService;
  readDb: Database.Database;
  waitForReadModel: (position: number) => Promise<void>;
  newId: () => string;
  now: () => string;
}>;

const pluginId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Plugin id' } as const;
const capabilities = {
  type: 'array',
  minItems: 1,
  maxItems: CAPABILITIES.length,
  uniqueItems: true,
  items: { type: 'string', enum: CAPABILITIES },
  description: 'Capabilities granted',
} as const;
const ttlSeconds = { type: 'integer', minimum: 60, maximum: 31_536_000, description: 'Token lifetime in seconds (capped by the server)' } as const;

const pluginView = {
  type: 'object',
  required: ['id', 'name', 'type', 'capabilities', 'status', 'activeTokens', 'registeredAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string' },
    capabilities: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'revoked'] },
    revokedReason: { type: ['string', 'null'] },
    activeTokens: { type: 'integer' },
    registeredAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const tokenView = {
  type: 'object',
  required: ['token', 'pluginId', 'jti', 'capabilities', 'expiresAt'],
  properties: {
    token: { type: 'string' },
    pluginId: { type: 'string' },
    jti: { type: 'string' },
    capabilities: { type: 'array', items: { type: 'string' } },
    issuedAt: { type: 'string' },
    expiresAt: { type: 'string' },
  },
} as const;

export const pluginOperations = ({ plugins, tokens, readDb, waitForReadModel, newId, now }: PluginCatalogDeps): AnyOperation[] => {
  const answer = async (id: string, position: number) => {
    await waitForReadModel(position);
    return { body: getPlugin(readDb, id, now()), position };
  };
  /** Signs a token and records its jti (with the expiry it carries) in the plugin's stream, so revocation can find it. */
  const issue = async (id: string, caps: string[] | undefined, ttl: number | undefined, ctx: OperationContext) => {
    const plugin = getPlugin(readDb, id, now());
    const granted = caps ?? plugin.capabilities;
    const signed = await tokens.issue(id, granted, ttl, randomUUID());
    const result = await plugins.recordToken({ pluginId: id, jti: signed.jti, capabilities: granted, expiresAt: signed.expiresAt }, requestMeta(ctx));
    await waitForReadModel(result.position);
    return { body: signed, position: result.position };
  };

  /**
   * The new token lives as long as the old one did (exp − iat), or less when asked: a refresh never lengthens
   * a token's life. It is signed first but handed out only once the log has revoked the old jti and recorded
   * the new one in one append, so of concurrent refreshes exactly one gets a token (the others get 409).
   */
  const refresh = async (requested: number | undefined, ctx: OperationContext) => {
    const { pluginId: id, jti, capabilities: caps, issuedAt, expiresAt } = ctx.caller ?? {};
    if (!id || !jti || !issuedAt || !expiresAt) throw new Error('refreshToken needs an authenticated plugin token');
    const lifetime = Math.round((Date.parse(expiresAt) - Date.parse(issuedAt)) / 1000);
    const signed = await tokens.issue(id, [...(caps ?? [])], Math.min(requested ?? lifetime, lifetime), randomUUID());
    const result = await plugins.refreshToken(
      { pluginId: id, jti, newJti: signed.jti, capabilities: signed.capabilities, expiresAt: signed.expiresAt },
      requestMeta(ctx),
    );
    if (result.replayed) throw conflict('TOKEN_ALREADY_REVOKED', `Token ${jti} was already refreshed by this request.`, { jti }, 'Use the token the first refresh answered.');
    await waitForReadModel(result.position);
    return { body: signed, position: result.position };
  };

  return [
    defineOperation<{ id?: string; name: string; type: string; capabilities: string[] }, unknown>({
      name: 'registerPlugin',
      tool: 'register_plugin',
      summary: 'Register a plugin (an agent, an editor extension, a script) with the capabilities it may use.',
      method: 'post',
      path: '/plugins',
      capability: 'admin',
      kind: 'command',
      successStatus: 201,
      input: s.input(
        {
          id: pluginId,
          name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
          type: { type: 'string', minLength: 1, maxLength: 50, pattern: '^[a-z0-9_-]+$', description: 'e.g. agent, vscode, cli, script' },
          capabilities,
        },
        ['name', 'type', 'capabilities'],
      ),
      output: pluginView,
      run: async (input, ctx) => {
        const id = input.id ?? newId();
        const result = await plugins.register({ pluginId: id, name: input.name, type: input.type, capabilities: input.capabilities }, requestMeta(ctx));
        return answer(id, result.position);
      },
    }),

    defineOperation<{ limit?: number; cursor?: string }, unknown>({
      name: 'listPlugins',
      tool: 'list_plugins',
      summary: 'List registered plugins.',
      method: 'get',
      path: '/plugins',
      capability: 'admin',
      kind: 'query',
      input: s.input({ limit: s.limit, cursor: s.cursor }),
      output: s.page(pluginView),
      run: async (input) => ({ body: listPlugins(readDb, now(), input) }),
    }),

    defineOperation<Record<string, never>, unknown>({
      name: 'whoAmI',
      tool: 'who_am_i',
      summary: 'The plugin behind this token and the capabilities it may use.',
      method: 'get',
      path: '/plugins/me',
      capability: 'authenticated',
      kind: 'query',
      input: s.input({}),
      output: {
        type: 'object',
        required: ['actor', 'capabilities'],
        properties: {
          actor: { type: 'string' },
          pluginId: { type: ['string', 'null'] },
          jti: { type: ['string', 'null'] },
          capabilities: { type: 'array', items: { type: 'string' } },
          expiresAt: { type: ['string', 'null'] },
          role: { type: ['string', 'null'] },
        },
      },
      run: async (_input, ctx) => ({
        body: {
          actor: ctx.actor,
          pluginId: ctx.caller?.pluginId ?? null,
          jti: ctx.caller?.jti ?? null,
          capabilities: [...(ctx.caller?.capabilities ?? [])],
          expiresAt: ctx.caller?.expiresAt ?? null,
          role: ctx.role ?? null,
        },
      }),
    }),

    defineOperation<{ ttlSeconds?: number }, unknown>({
      name: 'refreshToken',
      tool: 'refresh_token',
      summary: 'Exchange this token for a fresh one with the same capabilities and lifetime; the old one is revoked.',
      method: 'post',
      path: '/plugins/me/token',
      capability: 'authenticated',
      kind: 'command',
      successStatus: 201,
      input: s.input({ ttlSeconds }),
      output: tokenView,
      run: async (input, ctx) => refresh(input.ttlSeconds, ctx),
    }),

    defineOperation<{ pluginId: string }, unknown>({
      name: 'getPlugin',
      tool: 'get_plugin',
      summary: 'Get one plugin.',
      method: 'get',
      path: '/plugins/:pluginId',
      capability: 'admin',
      kind: 'query',
      input: s.input({ pluginId }, ['pluginId']),
      output: pluginView,
      run: async (input) => ({ body: getPlugin(readDb, input.pluginId, now()) }),
    }),

    defineOperation<{ pluginId: string; capabilities: string[] }, unknown>({
      name: 'changePluginCapabilities',
      tool: 'change_plugin_capabilities',
      summary: "Replace a plugin's capabilities; tokens lose any capability taken away, at once.",
      method: 'put',
      path: '/plugins/:pluginId/capabilities',
      capability: 'admin',
      kind: 'command',
      input: s.input({ pluginId, capabilities }, ['pluginId', 'capabilities']),
      output: pluginView,
      run: async (input, ctx) => answer(input.pluginId, (await plugins.changeCapabilities(input.pluginId, input.capabilities, requestMeta(ctx))).position),
    }),

    defineOperation<{ pluginId: string; reason?: string }, unknown>({
      name: 'revokePlugin',
      tool: 'revoke_plugin',
      summary: 'Revoke a plugin: every token it holds stops working at once.',
      method: 'post',
      path: '/plugins/:pluginId/revoke',
      capability: 'admin',
      kind: 'command',
      input: s.input({ pluginId, reason: { type: 'string', maxLength: 500 } }, ['pluginId']),
      output: pluginView,
      // The log decides (PLUGIN_NOT_FOUND from the decider), not the read model: a plugin the CLI registered a moment
      // ago may not be projected here yet.
      run: async (input, ctx) => answer(input.pluginId, (await plugins.revoke(input.pluginId, input.reason ?? 'revoked by an administrator', requestMeta(ctx))).position),
    }),

    defineOperation<{ pluginId: string; capabilities?: string[]; ttlSeconds?: number }, unknown>({
      name: 'issueToken',
      tool: 'issue_token',
      summary: 'Issue a token for a plugin (all of its capabilities, or a subset), 24 h by default.',
      method: 'post',
      path: '/plugins/:pluginId/tokens',
      capability: 'admin',
      kind: 'command',
      successStatus: 201,
      input: s.input({ pluginId, capabilities, ttlSeconds }, ['pluginId']),
      output: tokenView,
      run: async (input, ctx) => issue(input.pluginId, input.capabilities, input.ttlSeconds, ctx),
    }),

    defineOperation<{ pluginId: string; jti: string; reason?: string }, unknown>({
      name: 'revokeToken',
      tool: 'revoke_token',
      summary: 'Revoke one token of a plugin by its id (jti).',
      method: 'post',
      path: '/plugins/:pluginId/tokens/:jti/revoke',
      capability: 'admin',
      kind: 'command',
      input: s.input({ pluginId, jti: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }, reason: { type: 'string', maxLength: 500 } }, [
        'pluginId',
        'jti',
      ]),
      output: { type: 'object', required: ['pluginId', 'jti', 'revoked', 'position'], properties: { pluginId: {}, jti: {}, revoked: { type: 'boolean' }, position: { type: 'integer' } } },
      run: async (input, ctx) => {
        const result = await plugins.revokeToken(input.pluginId, input.jti, input.reason ?? 'revoked by an administrator', requestMeta(ctx));
        await waitForReadModel(result.position);
        return { body: { pluginId: input.pluginId, jti: input.jti, revoked: true, position: result.position }, position: result.position };
      },
    }),
  ];
};
