import { pluginDecider, type RefreshToken } from '../../src/commands/plugins/plugin.js';
import type { PluginEvent } from '../../src/events/plugins.js';
import { deciderSpec } from '../support/deciderSpec.js';

const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:01:00.000Z';

const registered: PluginEvent = {
  type: 'PluginRegistered',
  data: { pluginId: 'agent', name: 'Agent', type: 'agent', capabilities: ['search', 'task_reading'], registeredAt: NOW },
};
const issued: PluginEvent = {
  type: 'TokenIssued',
  data: { pluginId: 'agent', jti: 'old', capabilities: ['task_reading'], expiresAt: '2026-01-01T00:01:00.000Z', issuedAt: NOW },
};
const refresh = (data: Partial<RefreshToken['data']> = {}): RefreshToken => ({
  type: 'RefreshToken',
  data: { pluginId: 'agent', jti: 'old', newJti: 'new', capabilities: ['task_reading'], expiresAt: '2026-01-01T00:02:00.000Z', ...data },
  metadata: { now: LATER, commandId: 'refresh-1', actor: 'agent', tool: 'rest' },
});

describe('Plugin', () => {
  const spec = deciderSpec(pluginDecider);

  describe('when a live token is refreshed', () => {
    it('revokes it and issues the new one, in one decision', () => {
      spec
        .given([registered, issued])
        .when(refresh())
        .then([
          { type: 'TokenRevoked', data: { pluginId: 'agent', jti: 'old', reason: 'refreshed', revokedAt: LATER } },
          {
            type: 'TokenIssued',
            data: { pluginId: 'agent', jti: 'new', capabilities: ['task_reading'], expiresAt: '2026-01-01T00:02:00.000Z', issuedAt: LATER, refreshedFrom: 'old' },
          },
        ]);
    });
  });

  describe('when the token was already refreshed or revoked', () => {
    it('refuses a second refresh with TOKEN_ALREADY_REVOKED (exactly one refresh wins)', () => {
      const revoked: PluginEvent = { type: 'TokenRevoked', data: { pluginId: 'agent', jti: 'old', reason: 'refreshed', revokedAt: LATER } };
      spec.given([registered, issued, revoked]).when(refresh({ newJti: 'other' })).thenThrows('TOKEN_ALREADY_REVOKED');
    });
  });

  describe('when the token is unknown', () => {
    it('refuses with TOKEN_NOT_FOUND', () => {
      spec.given([registered]).when(refresh()).thenThrows('TOKEN_NOT_FOUND');
    });
  });

  describe('when the plugin was revoked', () => {
    it('refuses with PLUGIN_REVOKED', () => {
      const revoked: PluginEvent = { type: 'PluginRevoked', data: { pluginId: 'agent', reason: 'gone', revokedAt: NOW } };
      spec.given([registered, issued, revoked]).when(refresh()).thenThrows('PLUGIN_REVOKED');
    });
  });

  describe('when the plugin no longer holds a capability of the token', () => {
    it('refuses with CAPABILITY_NOT_GRANTED', () => {
      const narrowed: PluginEvent = { type: 'PluginCapabilitiesChanged', data: { pluginId: 'agent', capabilities: ['search'], changedAt: NOW } };
      spec.given([registered, issued, narrowed]).when(refresh()).thenThrows('CAPABILITY_NOT_GRANTED');
    });
  });
});
