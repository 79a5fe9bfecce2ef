import type Database from 'better-sqlite3';
import { prepared } from './prepared.js';
import { grantGeneration } from '../projections/sqlite/access.js';
import { databaseOf } from '../projections/sqlite/swappable.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';

export type PluginView = {
  id: string;
  name: string;
  type: string;
  capabilities: string[];
  status: 'active' | 'revoked';
  revokedReason: string | null;
  activeTokens: number;
  registeredAt: string;
  updatedAt: string;
};

type PluginRow = {
  id: string;
  name: string;
  type: string;
  capabilities: string;
  status: 'active' | 'revoked';
  revoked_reason: string | null;
  registered_at: string;
  updated_at: string;
  active_tokens: number;
};

const SELECT = `SELECT p.*, CASE p.status WHEN 'revoked' THEN 0 ELSE
    (SELECT COUNT(*) FROM plugin_tokens t WHERE t.plugin_id = p.id AND t.revoked = 0 AND t.expires_at > ?) END AS active_tokens
  FROM plugins p`;

const toView = (row: PluginRow): PluginView => ({
  id: row.id,
  name: row.name,
  type: row.type,
  capabilities: JSON.parse(row.capabilities) as string[],
  status: row.status,
  revokedReason: row.revoked_reason,
  activeTokens: row.active_tokens,
  registeredAt: row.registered_at,
  updatedAt: row.updated_at,
});

export const getPlugin = (db: Database.Database, id: string, now: string): PluginView => {
  const row = prepared<[string, string], PluginRow>(db, `${SELECT} WHERE p.id = ?`).get(now, id);
  if (!row) throw notFound('PLUGIN_NOT_FOUND', `Plugin ${id} is not registered.`, { pluginId: id });
  return toView(row);
};

export const listPlugins = (db: Database.Database, now: string, opts: { limit?: number; cursor?: string } = {}): Page<PluginView> => {
  const limit = opts.limit ?? 20;
  const after = opts.cursor ? String(decodeCursor(opts.cursor, 1)[0]) : '';
  const rows = prepared<[string, string, number], PluginRow>(db, `${SELECT} WHERE p.id > ? ORDER BY p.id LIMIT ?`).all(now, after, limit + 1);
  const page = rows.slice(0, limit);
  return { items: page.map(toView), nextCursor: rows.length > limit ? encodeCursor([page.at(-1)!.id]) : null };
};

/** A plugin's status, or `undefined` when it was never registered. */
export const pluginStatus = (db: Database.Database, id: string): PluginView['status'] | undefined =>
  prepared<[string], { status: PluginView['status'] }>(db, 'SELECT status FROM plugins WHERE id = ?').get(id)?.status;

export type Grant = Readonly<{ pluginActive: boolean; pluginCapabilities: string[]; tokenKnown: boolean; tokenRevoked: boolean }>;

/** What the log says about a token right now: the plugin's state and whether this jti was revoked. */
export const grantOf = (db: Database.Database) => {
  // Looked up per call (a map hit): the read model's connection may be swapped by a rebuild.
  const plugin = () => prepared<[string], { status: string; capabilities: string }>(db, 'SELECT status, capabilities FROM plugins WHERE id = ?');
  const token = () => prepared<[string, string], { revoked: number }>(db, 'SELECT revoked FROM plugin_tokens WHERE jti = ? AND plugin_id = ?');
  // Every request asks: the answer is kept until a plugin or token row changes (or the model is swapped or rebuilt).
  const known = new Map<string, { on: Database.Database; generation: number; grant: Grant }>();
  return (pluginId: string, jti: string): Grant => {
    const key = `${pluginId}\0${jti}`;
    const on = databaseOf(db);
    const generation = grantGeneration(db);
    const hit = known.get(key);
    if (hit && hit.on === on && hit.generation === generation) return hit.grant;
    const p = plugin().get(pluginId);
    const t = token().get(jti, pluginId);
    const grant: Grant = {
      pluginActive: p?.status === 'active',
      pluginCapabilities: p ? (JSON.parse(p.capabilities) as string[]) : [],
      tokenKnown: t !== undefined,
      tokenRevoked: t?.revoked === 1,
    };
    if (known.size >= 10_000) known.clear();
    known.set(key, { on, generation, grant });
    return grant;
  };
};
