import { pluginStreamId, type PluginEvent } from '../../events/plugins.js';
import type { CommandHandler } from '../handler.js';
import { commandMetadata, type RequestMeta } from '../metadata.js';
import type { PluginCommand, PluginState } from './plugin.js';

export type PluginCommandsDeps = Readonly<{
  handler: CommandHandler<PluginState, PluginCommand, PluginEvent>;
  now: () => string;
}>;

/** Registration, capabilities, revocation and token bookkeeping of plugins, as functions. */
export const pluginCommands = ({ handler, now }: PluginCommandsDeps) => {
  const run = (pluginId: string, command: Omit<PluginCommand, 'metadata'>, meta: RequestMeta) =>
    handler.handle(pluginStreamId(pluginId), { ...command, metadata: commandMetadata(meta, now()) } as PluginCommand);
  return {
    register: (data: { pluginId: string; name: string; type: string; capabilities: string[] }, meta: RequestMeta) =>
      run(data.pluginId, { type: 'RegisterPlugin', data }, meta),
    changeCapabilities: (pluginId: string, capabilities: string[], meta: RequestMeta) =>
      run(pluginId, { type: 'ChangePluginCapabilities', data: { pluginId, capabilities } }, meta),
    revoke: (pluginId: string, reason: string, meta: RequestMeta) => run(pluginId, { type: 'RevokePlugin', data: { pluginId, reason } }, meta),
    recordToken: (data: { pluginId: string; jti: string; capabilities: string[]; expiresAt: string }, meta: RequestMeta) =>
      run(data.pluginId, { type: 'IssueToken', data }, meta),
    revokeToken: (pluginId: string, jti: string, reason: string, meta: RequestMeta) =>
      run(pluginId, { type: 'RevokeToken', data: { pluginId, jti, reason } }, meta),
    refreshToken: (data: { pluginId: string; jti: string; newJti: string; capabilities: string[]; expiresAt: string }, meta: RequestMeta) =>
      run(data.pluginId, { type: 'RefreshToken', data }, meta),
  };
};

export type PluginCommands = ReturnType<typeof pluginCommands>;
