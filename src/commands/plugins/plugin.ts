import { conflict, notFound, unprocessable } from '../../errors.js';
import type { PluginEvent } from '../../events/plugins.js';
import type { Command, Decider, StoredEvent } from '../../events/types.js';

// ─── State ───────────────────────────────────────────────────────────────────────────────────────

export type PluginState =
  | { status: 'unregistered' }
  | { status: 'active' | 'revoked'; pluginId: string; name: string; capabilities: string[]; tokens: Map<string, { revoked: boolean }> };

export const initialState = (): PluginState => ({ status: 'unregistered' });

export const evolve = (state: PluginState, event: StoredEvent<PluginEvent>): PluginState => {
  const e = { type: event.type, data: event.data } as PluginEvent;
  switch (e.type) {
    case 'PluginRegistered':
      return { status: 'active', pluginId: e.data.pluginId, name: e.data.name, capabilities: e.data.capabilities, tokens: new Map() };
    case 'PluginCapabilitiesChanged':
      return state.status === 'unregistered' ? state : { ...state, capabilities: e.data.capabilities };
    case 'PluginRevoked':
      return state.status === 'unregistered' ? state : { ...state, status: 'revoked' };
    case 'TokenIssued':
      if (state.status !== 'unregistered') state.tokens.set(e.data.jti, { revoked: false });
      return state;
    case 'TokenRevoked':
      if (state.status !== 'unregistered') state.tokens.set(e.data.jti, { revoked: true });
      return state;
    default: {
      const _exhaustive: never = e;
      return _exhaustive;
    }
  }
};

// ─── Commands ────────────────────────────────────────────────────────────────────────────────────

export type RegisterPlugin = Command<'RegisterPlugin', { pluginId: string; name: string; type: string; capabilities: string[] }>;
export type ChangePluginCapabilities = Command<'ChangePluginCapabilities', { pluginId: string; capabilities: string[] }>;
export type RevokePlugin = Command<'RevokePlugin', { pluginId: string; reason: string }>;
export type IssueToken = Command<'IssueToken', { pluginId: string; jti: string; capabilities: string[]; expiresAt: string }>;
export type RevokeToken = Command<'RevokeToken', { pluginId: string; jti: string; reason: string }>;
/** Revokes `jti` and records `newJti` in one append: of concurrent refreshes of one token, exactly one wins. */
export type RefreshToken = Command<'RefreshToken', { pluginId: string; jti: string; newJti: string; capabilities: string[]; expiresAt: string }>;
export type PluginCommand = RegisterPlugin | ChangePluginCapabilities | RevokePlugin | IssueToken | RevokeToken | RefreshToken;

type Active = Extract<PluginState, { status: 'active' | 'revoked' }>;

const requireActive = (state: PluginState, pluginId: string): Active => {
  if (state.status === 'unregistered') throw notFound('PLUGIN_NOT_FOUND', `Plugin ${pluginId} is not registered.`, { pluginId });
  if (state.status === 'revoked') throw conflict('PLUGIN_REVOKED', `Plugin ${pluginId} has been revoked.`, { pluginId });
  return state;
};

const unique = (values: readonly string[]) => [...new Set(values)].sort();

const requireGranted = (plugin: Active, capabilities: readonly string[]): void => {
  const missing = capabilities.filter((c) => !plugin.capabilities.includes(c));
  if (missing.length > 0)
    throw unprocessable('CAPABILITY_NOT_GRANTED', `Plugin ${plugin.pluginId} does not hold ${missing.join(', ')}.`, { missing });
};

const refreshToken = (command: RefreshToken, state: PluginState): PluginEvent[] => {
  const { pluginId, jti, newJti, capabilities, expiresAt } = command.data;
  const plugin = requireActive(state, pluginId);
  const token = plugin.tokens.get(jti);
  if (!token) throw notFound('TOKEN_NOT_FOUND', `Plugin ${pluginId} has no token ${jti}.`, { jti });
  if (token.revoked) {
    throw conflict(
      'TOKEN_ALREADY_REVOKED',
      `Token ${jti} was already refreshed or revoked; only a live token can be refreshed, once.`,
      { jti },
      'Use the token the first refresh answered.',
    );
  }
  requireGranted(plugin, capabilities);
  const now = command.metadata.now;
  return [
    { type: 'TokenRevoked', data: { pluginId, jti, reason: 'refreshed', revokedAt: now } },
    { type: 'TokenIssued', data: { pluginId, jti: newJti, capabilities: unique(capabilities), expiresAt, issuedAt: now, refreshedFrom: jti } },
  ];
};

export const pluginDecider: Decider<PluginState, PluginCommand, PluginEvent> = {
  decide: (command, state): PluginEvent[] => {
    const now = command.metadata.now;
    switch (command.type) {
      case 'RegisterPlugin': {
        const { data } = command;
        if (state.status !== 'unregistered')
          throw conflict('PLUGIN_EXISTS', `Plugin ${data.pluginId} is already registered.`, { pluginId: data.pluginId });
        return [{ type: 'PluginRegistered', data: { ...data, capabilities: unique(data.capabilities), registeredAt: now } }];
      }
      case 'ChangePluginCapabilities': {
        const plugin = requireActive(state, command.data.pluginId);
        const capabilities = unique(command.data.capabilities);
        if (capabilities.join() === unique(plugin.capabilities).join()) return [];
        return [{ type: 'PluginCapabilitiesChanged', data: { pluginId: plugin.pluginId, capabilities, changedAt: now } }];
      }
      case 'RevokePlugin':
        if (state.status === 'revoked') return [];
        requireActive(state, command.data.pluginId);
        return [{ type: 'PluginRevoked', data: { pluginId: command.data.pluginId, reason: command.data.reason, revokedAt: now } }];
      case 'IssueToken': {
        requireGranted(requireActive(state, command.data.pluginId), command.data.capabilities);
        return [{ type: 'TokenIssued', data: { ...command.data, capabilities: unique(command.data.capabilities), issuedAt: now } }];
      }
      case 'RevokeToken': {
        if (state.status === 'unregistered') throw notFound('PLUGIN_NOT_FOUND', `Plugin ${command.data.pluginId} is not registered.`);
        const token = state.tokens.get(command.data.jti);
        if (!token) throw notFound('TOKEN_NOT_FOUND', `Plugin ${state.pluginId} has no token ${command.data.jti}.`, { jti: command.data.jti });
        if (token.revoked) return [];
        return [{ type: 'TokenRevoked', data: { ...command.data, revokedAt: now } }];
      }
      case 'RefreshToken':
        return refreshToken(command, state);
      default: {
        const _exhaustive: never = command;
        throw new Error(`Unknown command ${String(_exhaustive)}`);
      }
    }
  },
  evolve,
  initialState,
};
