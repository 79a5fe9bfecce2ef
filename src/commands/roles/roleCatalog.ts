import { conflict, notFound } from '../../errors.js';
import type { RoleEvent, RoleSource, RoleSpec } from '../../events/roles.js';
import type { Command, Decider, StoredEvent } from '../../events/types.js';
import { canonicalJson } from '../../util/canonical.js';

// ─── State ───────────────────────────────────────────────────────────────────────────────────────

export type CatalogRole = { spec: RoleSpec; source: RoleSource; retired: boolean; version: number };
export type RoleCatalogState = { roles: Map<string, CatalogRole> };

export const initialState = (): RoleCatalogState => ({ roles: new Map() });

export const evolve = (state: RoleCatalogState, event: StoredEvent<RoleEvent>): RoleCatalogState => {
  const e = { type: event.type, data: event.data } as RoleEvent;
  switch (e.type) {
    case 'RoleDefined':
    case 'RoleChanged':
      state.roles.set(e.data.role.name, { spec: e.data.role, source: e.data.source, retired: false, version: event.revision });
      return state;
    case 'RoleRetired': {
      const role = state.roles.get(e.data.name);
      if (role) state.roles.set(e.data.name, { ...role, retired: true, version: event.revision });
      return state;
    }
    default: {
      const _exhaustive: never = e;
      return _exhaustive;
    }
  }
};

// ─── Commands ────────────────────────────────────────────────────────────────────────────────────

export type SyncRoleFiles = Command<'SyncRoleFiles', { roles: readonly RoleSpec[]; sources: Readonly<Record<string, string>> }>;
export type DefineRole = Command<'DefineRole', { role: RoleSpec }>;
export type ChangeRole = Command<'ChangeRole', { role: RoleSpec }>;
export type RetireRole = Command<'RetireRole', { name: string }>;
export type RoleCommand = SyncRoleFiles | DefineRole | ChangeRole | RetireRole;

const same = (a: RoleSpec, b: RoleSpec) => canonicalJson(a) === canonicalJson(b);

/** Appends only what differs from the stream, so a restart with unchanged files appends nothing. */
export const syncRoleFiles = ({ data, metadata }: SyncRoleFiles, state: RoleCatalogState): RoleEvent[] => {
  const events: RoleEvent[] = [];
  const now = metadata.now;
  for (const role of data.roles) {
    const source: RoleSource = { kind: 'yaml', file: data.sources[role.name] ?? 'unknown' };
    const current = state.roles.get(role.name);
    if (!current) events.push({ type: 'RoleDefined', data: { role, source, definedAt: now } });
    else if (current.retired || !same(current.spec, role) || canonicalJson(current.source) !== canonicalJson(source)) {
      events.push({ type: 'RoleChanged', data: { role, source, changedAt: now } });
    }
  }
  const inFiles = new Set(data.roles.map((r) => r.name));
  for (const [name, role] of state.roles) {
    if (role.source.kind === 'yaml' && !role.retired && !inFiles.has(name)) events.push({ type: 'RoleRetired', data: { name, retiredAt: now } });
  }
  return events;
};

const requireCustom = (state: RoleCatalogState, name: string): CatalogRole => {
  const role = state.roles.get(name);
  if (!role) throw notFound('ROLE_NOT_FOUND', `Role ${name} does not exist.`, { role: name });
  if (role.source.kind === 'yaml') {
    throw conflict('ROLE_READ_ONLY', `Role ${name} comes from ${role.source.file}; change that file instead.`, {
      role: name,
      file: role.source.file,
    });
  }
  return role;
};

export const defineRole = ({ data, metadata }: DefineRole, state: RoleCatalogState): RoleEvent[] => {
  const existing = state.roles.get(data.role.name);
  if (existing && !existing.retired) throw conflict('ROLE_EXISTS', `Role ${data.role.name} already exists.`, { role: data.role.name });
  if (existing?.source.kind === 'yaml') requireCustom(state, data.role.name);
  return [{ type: 'RoleDefined', data: { role: data.role, source: { kind: 'custom' }, definedAt: metadata.now } }];
};

export const changeRole = ({ data, metadata }: ChangeRole, state: RoleCatalogState): RoleEvent[] => {
  const role = requireCustom(state, data.role.name);
  if (role.retired) throw conflict('ROLE_RETIRED', `Role ${data.role.name} is retired; define it again instead.`, { role: data.role.name });
  if (same(role.spec, data.role)) return [];
  return [{ type: 'RoleChanged', data: { role: data.role, source: { kind: 'custom' }, changedAt: metadata.now } }];
};

export const retireRole = ({ data, metadata }: RetireRole, state: RoleCatalogState): RoleEvent[] => {
  const role = requireCustom(state, data.name);
  if (role.retired) return [];
  return [{ type: 'RoleRetired', data: { name: data.name, retiredAt: metadata.now } }];
};

export const roleCatalogDecider: Decider<RoleCatalogState, RoleCommand, RoleEvent> = {
  decide: (command, state) => {
    const { type } = command;
    switch (type) {
      case 'SyncRoleFiles':
        return syncRoleFiles(command, state);
      case 'DefineRole':
        return defineRole(command, state);
      case 'ChangeRole':
        return changeRole(command, state);
      case 'RetireRole':
        return retireRole(command, state);
      default: {
        const _exhaustive: never = type;
        throw new Error(`Unknown command ${String(_exhaustive)}`);
      }
    }
  },
  evolve,
  initialState,
};
