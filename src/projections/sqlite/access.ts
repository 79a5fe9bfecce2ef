import type Database from 'better-sqlite3';
import { PLUGIN_EVENT_TYPES, type PluginEvent } from '../../events/plugins.js';
import { ROLE_EVENT_TYPES, type RoleEvent } from '../../events/roles.js';
import type { StoredEvent } from '../../events/types.js';
import { databaseOf } from './swappable.js';

/** Per connection: bumped by every plugin or token row written, and when the model is (re)built, so a grant read earlier is known stale. */
const grantGenerations = new WeakMap<Database.Database, number>();
export const grantGeneration = (db: Database.Database): number => grantGenerations.get(databaseOf(db)) ?? 0;
const grantsChanged = (db: Database.Database): void => void grantGenerations.set(databaseOf(db), grantGeneration(db) + 1);

/** Roles and plugins in the read model: what callers may do, and which roles exist. */
export const ACCESS_DDL = `
CREATE TABLE IF NOT EXISTS roles (
  name                 TEXT PRIMARY KEY,
  description          TEXT NOT NULL,
  capabilities         TEXT NOT NULL,
  file_patterns        TEXT NOT NULL,
  tools                TEXT NOT NULL,
  max_concurrent_tasks INTEGER,
  max_per_agent        INTEGER,
  restrictions         TEXT NOT NULL,
  source               TEXT NOT NULL,
  retired              INTEGER NOT NULL,
  version              INTEGER NOT NULL,
  updated_at           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plugins (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  type           TEXT NOT NULL,
  capabilities   TEXT NOT NULL,
  status         TEXT NOT NULL,
  revoked_reason TEXT,
  registered_at  TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plugin_tokens (
  jti          TEXT PRIMARY KEY,
  plugin_id    TEXT NOT NULL,
  capabilities TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  issued_at    TEXT NOT NULL,
  revoked      INTEGER NOT NULL DEFAULT 0,
  revoked_at   TEXT
);
CREATE INDEX IF NOT EXISTS plugin_tokens_plugin ON plugin_tokens (plugin_id, issued_at);
`;

export const ACCESS_TABLES = { roles: 'name', plugins: 'id', plugin_tokens: 'jti' } as const;

export const accessProjection = (db: Database.Database) => {
  db.exec(ACCESS_DDL);
  grantsChanged(db);
  const s = {
    upsertRole: db.prepare(`INSERT OR REPLACE INTO roles (name, description, capabilities, file_patterns, tools, max_concurrent_tasks, max_per_agent,
      restrictions, source, retired, version, updated_at) VALUES (@name, @description, @capabilities, @filePatterns, @tools, @maxConcurrentTasks,
      @maxConcurrentTasksPerAgent, @restrictions,
      @source, 0, @version, @at)`),
    retireRole: db.prepare<[number, string, string]>('UPDATE roles SET retired = 1, version = ?, updated_at = ? WHERE name = ?'),
    insertPlugin: db.prepare(`INSERT OR REPLACE INTO plugins (id, name, type, capabilities, status, revoked_reason, registered_at, updated_at)
      VALUES (@pluginId, @name, @type, @capabilities, 'active', NULL, @at, @at)`),
    pluginCapabilities: db.prepare<[string, string, string]>('UPDATE plugins SET capabilities = ?, updated_at = ? WHERE id = ?'),
    revokePlugin: db.prepare<[string, string, string]>("UPDATE plugins SET status = 'revoked', revoked_reason = ?, updated_at = ? WHERE id = ?"),
    insertToken: db.prepare(`INSERT OR REPLACE INTO plugin_tokens (jti, plugin_id, capabilities, expires_at, issued_at, revoked, revoked_at)
      VALUES (@jti, @pluginId, @capabilities, @expiresAt, @issuedAt, 0, NULL)`),
    revokeToken: db.prepare<[string, string]>('UPDATE plugin_tokens SET revoked = 1, revoked_at = ? WHERE jti = ?'),
  };
  const json = JSON.stringify;

  const applyRole = (event: StoredEvent, e: RoleEvent) => {
    switch (e.type) {
      case 'RoleDefined':
      case 'RoleChanged': {
        const { role, source } = e.data;
        s.upsertRole.run({
          name: role.name,
          description: role.description,
          capabilities: json(role.capabilities),
          filePatterns: json(role.filePatterns),
          tools: json(role.tools),
          maxConcurrentTasks: role.maxConcurrentTasks,
          maxConcurrentTasksPerAgent: role.maxConcurrentTasksPerAgent ?? null,
          restrictions: json(role.restrictions),
          source: json(source),
          version: event.revision,
          at: e.type === 'RoleDefined' ? e.data.definedAt : e.data.changedAt,
        });
        return;
      }
      case 'RoleRetired':
        s.retireRole.run(event.revision, e.data.retiredAt, e.data.name);
        return;
      default: {
        const _exhaustive: never = e;
        return _exhaustive;
      }
    }
  };

  const applyPlugin = (e: PluginEvent) => {
    grantsChanged(db);
    switch (e.type) {
      case 'PluginRegistered':
        s.insertPlugin.run({ ...e.data, capabilities: json(e.data.capabilities), at: e.data.registeredAt });
        return;
      case 'PluginCapabilitiesChanged':
        s.pluginCapabilities.run(json(e.data.capabilities), e.data.changedAt, e.data.pluginId);
        return;
      case 'PluginRevoked':
        s.revokePlugin.run(e.data.reason, e.data.revokedAt, e.data.pluginId);
        return;
      case 'TokenIssued':
        s.insertToken.run({ ...e.data, capabilities: json(e.data.capabilities) });
        return;
      case 'TokenRevoked':
        s.revokeToken.run(e.data.revokedAt, e.data.jti);
        return;
      default: {
        const _exhaustive: never = e;
        return _exhaustive;
      }
    }
  };

  /** Applies the event when it is a role or plugin event; returns whether it was. */
  return (event: StoredEvent): boolean => {
    const e = { type: event.type, data: event.data };
    if (ROLE_EVENT_TYPES.has(event.type)) applyRole(event, e as RoleEvent);
    else if (PLUGIN_EVENT_TYPES.has(event.type)) applyPlugin(e as PluginEvent);
    else return false;
    return true;
  };
};
