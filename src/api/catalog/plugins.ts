import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { conflict } from '../../errors.js';
import type { PluginCommands } from '../../commands/plugins/commands.js';
import { getPlugin, listPlugins } from '../../queries/plugins.js';
import type { TokenService } from '../auth/tokens.js';
import * as schemas from './schemas/plugins.js';
import { defineOperation, requestMeta, type AnyOperation, type OperationContext } from './operation.js';

export type PluginCatalogDeps = Readonly<{
  plugins: PluginCommands;
  tokens: TokenService;
  readDb: Database.Database;
  waitForReadModel: (position: number) => Promise<void>;
  newId: () => string;
  now: () => string;
}>;

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
    if (result.replayed)
      throw conflict(
        'TOKEN_ALREADY_REVOKED',
        `Token ${jti} was already refreshed by this request.`,
        { jti },
        'Use the token the first refresh answered.',
      );
    await waitForReadModel(result.position);
    return { body: signed, position: result.position };
  };

  return [
    defineOperation({
      name: 'registerPlugin',
      tool: 'register_plugin',
      summary: 'Register a plugin (an agent, an editor extension, a script) with the capabilities it may use.',
      method: 'post',
      path: '/plugins',
      capability: 'admin',
      kind: 'command',
      successStatus: 201,
      ...schemas.registerPlugin,
      run: async (input, ctx) => {
        const id = input.id ?? newId();
        const result = await plugins.register(
          { pluginId: id, name: input.name, type: input.type, capabilities: input.capabilities },
          requestMeta(ctx),
        );
        return answer(id, result.position);
      },
    }),

    defineOperation({
      name: 'listPlugins',
      tool: 'list_plugins',
      summary: 'List registered plugins.',
      method: 'get',
      path: '/plugins',
      capability: 'admin',
      kind: 'query',
      ...schemas.listPlugins,
      run: async (input) => ({ body: listPlugins(readDb, now(), input) }),
    }),

    defineOperation({
      name: 'whoAmI',
      tool: 'who_am_i',
      summary: 'The plugin behind this token and the capabilities it may use.',
      method: 'get',
      path: '/plugins/me',
      capability: 'authenticated',
      kind: 'query',
      ...schemas.whoAmI,
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

    defineOperation({
      name: 'refreshToken',
      tool: 'refresh_token',
      summary: 'Exchange this token for a fresh one with the same capabilities and lifetime; the old one is revoked.',
      method: 'post',
      path: '/plugins/me/token',
      capability: 'authenticated',
      kind: 'command',
      successStatus: 201,
      ...schemas.refreshToken,
      run: async (input, ctx) => refresh(input.ttlSeconds, ctx),
    }),

    defineOperation({
      name: 'getPlugin',
      tool: 'get_plugin',
      summary: 'Get one plugin.',
      method: 'get',
      path: '/plugins/:pluginId',
      capability: 'admin',
      kind: 'query',
      ...schemas.getPlugin,
      run: async (input) => ({ body: getPlugin(readDb, input.pluginId, now()) }),
    }),

    defineOperation({
      name: 'changePluginCapabilities',
      tool: 'change_plugin_capabilities',
      summary: "Replace a plugin's capabilities; tokens lose any capability taken away, at once.",
      method: 'put',
      path: '/plugins/:pluginId/capabilities',
      capability: 'admin',
      kind: 'command',
      ...schemas.changePluginCapabilities,
      run: async (input, ctx) =>
        answer(input.pluginId, (await plugins.changeCapabilities(input.pluginId, input.capabilities, requestMeta(ctx))).position),
    }),

    defineOperation({
      name: 'revokePlugin',
      tool: 'revoke_plugin',
      summary: 'Revoke a plugin: every token it holds stops working at once.',
      method: 'post',
      path: '/plugins/:pluginId/revoke',
      capability: 'admin',
      kind: 'command',
      ...schemas.revokePlugin,
      // The log decides (PLUGIN_NOT_FOUND from the decider), not the read model: a plugin the CLI registered a moment
      // ago may not be projected here yet.
      run: async (input, ctx) =>
        answer(input.pluginId, (await plugins.revoke(input.pluginId, input.reason ?? 'revoked by an administrator', requestMeta(ctx))).position),
    }),

    defineOperation({
      name: 'issueToken',
      tool: 'issue_token',
      summary: 'Issue a token for a plugin (all of its capabilities, or a subset), 24 h by default.',
      method: 'post',
      path: '/plugins/:pluginId/tokens',
      capability: 'admin',
      kind: 'command',
      successStatus: 201,
      ...schemas.issueToken,
      run: async (input, ctx) => issue(input.pluginId, input.capabilities, input.ttlSeconds, ctx),
    }),

    defineOperation({
      name: 'revokeToken',
      tool: 'revoke_token',
      summary: 'Revoke one token of a plugin by its id (jti).',
      method: 'post',
      path: '/plugins/:pluginId/tokens/:jti/revoke',
      capability: 'admin',
      kind: 'command',
      ...schemas.revokeToken,
      run: async (input, ctx) => {
        const result = await plugins.revokeToken(input.pluginId, input.jti, input.reason ?? 'revoked by an administrator', requestMeta(ctx));
        await waitForReadModel(result.position);
        return { body: { pluginId: input.pluginId, jti: input.jti, revoked: true, position: result.position }, position: result.position };
      },
    }),
  ];
};
