import type { Event } from './types.js';

/** Events of the Plugin aggregate (stream `plugin-<pluginId>`): who may call Vespera, and with what. */
export type PluginRegistered = Event<
  'PluginRegistered',
  { pluginId: string; name: string; type: string; capabilities: string[]; registeredAt: string }
>;
export type PluginCapabilitiesChanged = Event<'PluginCapabilitiesChanged', { pluginId: string; capabilities: string[]; changedAt: string }>;
export type PluginRevoked = Event<'PluginRevoked', { pluginId: string; reason: string; revokedAt: string }>;
/** `refreshedFrom`: the token this one replaced, revoked by the same command (absent before refreshes were atomic). */
export type TokenIssued = Event<
  'TokenIssued',
  { pluginId: string; jti: string; capabilities: string[]; expiresAt: string; issuedAt: string; refreshedFrom?: string }
>;
export type TokenRevoked = Event<'TokenRevoked', { pluginId: string; jti: string; reason: string; revokedAt: string }>;

export type PluginEvent = PluginRegistered | PluginCapabilitiesChanged | PluginRevoked | TokenIssued | TokenRevoked;

export const PLUGIN_EVENT_TYPES: ReadonlySet<string> = new Set<PluginEvent['type']>([
  'PluginRegistered',
  'PluginCapabilitiesChanged',
  'PluginRevoked',
  'TokenIssued',
  'TokenRevoked',
]);

export const pluginStreamId = (pluginId: string) => `plugin-${pluginId}`;
