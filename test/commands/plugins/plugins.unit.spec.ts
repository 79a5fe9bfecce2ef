import { expect } from 'chai';
import { pluginDecider, type PluginCommand, type RefreshToken } from '../../../src/commands/plugins/plugin.js';
import type { PluginCapabilitiesChanged, PluginEvent, PluginRegistered, PluginRevoked, TokenIssued } from '../../../src/events/plugins.js';
import type { CommandMetadata } from '../../../src/events/types.js';
import { deciderSpec } from '../../support/deciderSpec.js';

/** The Plugin aggregate: registration, capabilities, revocation and the tokens issued to a plugin. */

const ID = 'ci-bot';
const NOW = '2026-01-01T00:00:00.000Z';
const META: CommandMetadata = { now: NOW, commandId: 'c1', actor: 'admin', tool: 'test' };

describe('Plugin', () => {
  const spec = deciderSpec(pluginDecider);

  describe('when registering', () => {
    it('registers it with its capabilities sorted and without duplicates', () =>
      spec
        .given([])
        .when(command('RegisterPlugin', { pluginId: ID, name: 'CI bot', type: 'ci', capabilities: ['tasks:write', 'tasks:read', 'tasks:write'] }))
        .then([registered(['tasks:read', 'tasks:write'])]));

    it('refuses a plugin that is already registered with PLUGIN_EXISTS', () =>
      spec
        .given([registered(['tasks:read'])])
        .when(command('RegisterPlugin', { pluginId: ID, name: 'Again', type: 'ci', capabilities: [] }))
        .thenThrows('PLUGIN_EXISTS', (error) => expect(error.status).to.equal(409)));

    it('refuses to register a revoked plugin again with PLUGIN_EXISTS', () =>
      spec
        .given([registered(['tasks:read']), revoked()])
        .when(command('RegisterPlugin', { pluginId: ID, name: 'Again', type: 'ci', capabilities: [] }))
        .thenThrows('PLUGIN_EXISTS'));
  });

  describe('when changing capabilities', () => {
    it('records the new set, sorted and without duplicates', () =>
      spec
        .given([registered(['tasks:read'])])
        .when(command('ChangePluginCapabilities', { pluginId: ID, capabilities: ['tasks:write', 'tasks:read', 'tasks:write'] }))
        .then([capabilitiesChanged(['tasks:read', 'tasks:write'])]));

    it('does nothing when the set is the same in another order', () =>
      spec
        .given([registered(['tasks:read', 'tasks:write'])])
        .when(command('ChangePluginCapabilities', { pluginId: ID, capabilities: ['tasks:write', 'tasks:read'] }))
        .thenNothingHappened());

    it('refuses an unknown plugin with PLUGIN_NOT_FOUND', () =>
      spec
        .given([])
        .when(command('ChangePluginCapabilities', { pluginId: ID, capabilities: ['tasks:read'] }))
        .thenThrows('PLUGIN_NOT_FOUND', (error) => expect(error.status).to.equal(404)));

    it('refuses a revoked plugin with PLUGIN_REVOKED', () =>
      spec
        .given([registered(['tasks:read']), revoked()])
        .when(command('ChangePluginCapabilities', { pluginId: ID, capabilities: ['tasks:write'] }))
        .thenThrows('PLUGIN_REVOKED', (error) => expect(error.status).to.equal(409)));
  });

  describe('when revoking the plugin', () => {
    it('revokes it with the reason given', () =>
      spec
        .given([registered(['tasks:read'])])
        .when(command('RevokePlugin', { pluginId: ID, reason: 'leaked key' }))
        .then([revoked('leaked key')]));

    it('does nothing when it is already revoked', () =>
      spec
        .given([registered(['tasks:read']), revoked()])
        .when(command('RevokePlugin', { pluginId: ID, reason: 'again' }))
        .thenNothingHappened());

    it('refuses an unknown plugin with PLUGIN_NOT_FOUND', () =>
      spec
        .given([])
        .when(command('RevokePlugin', { pluginId: ID, reason: 'why' }))
        .thenThrows('PLUGIN_NOT_FOUND'));
  });

  describe('when issuing a token', () => {
    const expiresAt = '2026-01-02T00:00:00.000Z';

    it('records a token for capabilities the plugin holds, sorted', () =>
      spec
        .given([registered(['tasks:read', 'tasks:write'])])
        .when(command('IssueToken', { pluginId: ID, jti: 'j1', capabilities: ['tasks:write', 'tasks:read'], expiresAt }))
        .then([tokenIssued('j1', ['tasks:read', 'tasks:write'], expiresAt)]));

    it('refuses capabilities the plugin does not hold with CAPABILITY_NOT_GRANTED, naming them', () =>
      spec
        .given([registered(['tasks:read'])])
        .when(command('IssueToken', { pluginId: ID, jti: 'j1', capabilities: ['tasks:read', 'admin'], expiresAt }))
        .thenThrows('CAPABILITY_NOT_GRANTED', (error) => {
          expect(error.status).to.equal(422);
          expect(error.details).to.deep.equal({ missing: ['admin'] });
        }));

    it('refuses a capability the plugin has lost since with CAPABILITY_NOT_GRANTED', () =>
      spec
        .given([registered(['tasks:read', 'tasks:write']), capabilitiesChanged(['tasks:read'])])
        .when(command('IssueToken', { pluginId: ID, jti: 'j1', capabilities: ['tasks:write'], expiresAt }))
        .thenThrows('CAPABILITY_NOT_GRANTED'));

    it('refuses a revoked plugin with PLUGIN_REVOKED', () =>
      spec
        .given([registered(['tasks:read']), revoked()])
        .when(command('IssueToken', { pluginId: ID, jti: 'j1', capabilities: ['tasks:read'], expiresAt }))
        .thenThrows('PLUGIN_REVOKED'));

    it('refuses an unknown plugin with PLUGIN_NOT_FOUND', () =>
      spec
        .given([])
        .when(command('IssueToken', { pluginId: ID, jti: 'j1', capabilities: [], expiresAt }))
        .thenThrows('PLUGIN_NOT_FOUND'));
  });

  describe('when revoking a token', () => {
    const expiresAt = '2026-01-02T00:00:00.000Z';

    it('revokes a token it issued', () =>
      spec
        .given([registered(['tasks:read']), tokenIssued('j1', ['tasks:read'], expiresAt)])
        .when(command('RevokeToken', { pluginId: ID, jti: 'j1', reason: 'rotated' }))
        .then([{ type: 'TokenRevoked', data: { pluginId: ID, jti: 'j1', reason: 'rotated', revokedAt: NOW } }]));

    it('refuses a token it never issued with TOKEN_NOT_FOUND', () =>
      spec
        .given([registered(['tasks:read'])])
        .when(command('RevokeToken', { pluginId: ID, jti: 'nope', reason: 'rotated' }))
        .thenThrows('TOKEN_NOT_FOUND'));
  });
});

// ─── Fixtures ────────────────────────────────────────────────────────────────────────────────────

function command<T extends PluginCommand['type']>(type: T, data: Extract<PluginCommand, { type: T }>['data']): PluginCommand {
  return { type, data, metadata: META } as PluginCommand;
}

function registered(capabilities: string[]): PluginRegistered {
  return { type: 'PluginRegistered', data: { pluginId: ID, name: 'CI bot', type: 'ci', capabilities, registeredAt: NOW } };
}

function capabilitiesChanged(capabilities: string[]): PluginCapabilitiesChanged {
  return { type: 'PluginCapabilitiesChanged', data: { pluginId: ID, capabilities, changedAt: NOW } };
}

function revoked(reason = 'no longer needed'): PluginRevoked {
  return { type: 'PluginRevoked', data: { pluginId: ID, reason, revokedAt: NOW } };
}

function tokenIssued(jti: string, capabilities: string[], expiresAt: string): TokenIssued {
  return { type: 'TokenIssued', data: { pluginId: ID, jti, capabilities, expiresAt, issuedAt: NOW } };
}

describe('Plugin token refresh', () => {
  const spec = deciderSpec(pluginDecider);
  const T_ISSUED = '2026-01-01T00:00:00.000Z';
  const T_REFRESH = '2026-01-01T00:01:00.000Z';

  const registered: PluginEvent = {
    type: 'PluginRegistered',
    data: { pluginId: 'agent', name: 'Agent', type: 'agent', capabilities: ['search', 'task_reading'], registeredAt: T_ISSUED },
  };
  const issued: PluginEvent = {
    type: 'TokenIssued',
    data: { pluginId: 'agent', jti: 'old', capabilities: ['task_reading'], expiresAt: '2026-01-01T00:01:00.000Z', issuedAt: T_ISSUED },
  };
  const refresh = (data: Partial<RefreshToken['data']> = {}): RefreshToken => ({
    type: 'RefreshToken',
    data: { pluginId: 'agent', jti: 'old', newJti: 'new', capabilities: ['task_reading'], expiresAt: '2026-01-01T00:02:00.000Z', ...data },
    metadata: { now: T_REFRESH, commandId: 'refresh-1', actor: 'agent', tool: 'rest' },
  });

  describe('when a live token is refreshed', () => {
    it('revokes it and issues the new one, in one decision', () => {
      spec
        .given([registered, issued])
        .when(refresh())
        .then([
          { type: 'TokenRevoked', data: { pluginId: 'agent', jti: 'old', reason: 'refreshed', revokedAt: T_REFRESH } },
          {
            type: 'TokenIssued',
            data: {
              pluginId: 'agent',
              jti: 'new',
              capabilities: ['task_reading'],
              expiresAt: '2026-01-01T00:02:00.000Z',
              issuedAt: T_REFRESH,
              refreshedFrom: 'old',
            },
          },
        ]);
    });
  });

  describe('when the token was already refreshed or revoked', () => {
    it('refuses a second refresh with TOKEN_ALREADY_REVOKED (exactly one refresh wins)', () => {
      const revoked: PluginEvent = { type: 'TokenRevoked', data: { pluginId: 'agent', jti: 'old', reason: 'refreshed', revokedAt: T_REFRESH } };
      spec
        .given([registered, issued, revoked])
        .when(refresh({ newJti: 'other' }))
        .thenThrows('TOKEN_ALREADY_REVOKED');
    });
  });

  describe('when the token is unknown', () => {
    it('refuses with TOKEN_NOT_FOUND', () => {
      spec.given([registered]).when(refresh()).thenThrows('TOKEN_NOT_FOUND');
    });
  });

  describe('when the plugin was revoked', () => {
    it('refuses with PLUGIN_REVOKED', () => {
      const revoked: PluginEvent = { type: 'PluginRevoked', data: { pluginId: 'agent', reason: 'gone', revokedAt: T_ISSUED } };
      spec.given([registered, issued, revoked]).when(refresh()).thenThrows('PLUGIN_REVOKED');
    });
  });

  describe('when the plugin no longer holds a capability of the token', () => {
    it('refuses with CAPABILITY_NOT_GRANTED', () => {
      const narrowed: PluginEvent = { type: 'PluginCapabilitiesChanged', data: { pluginId: 'agent', capabilities: ['search'], changedAt: T_ISSUED } };
      spec.given([registered, issued, narrowed]).when(refresh()).thenThrows('CAPABILITY_NOT_GRANTED');
    });
  });
});
