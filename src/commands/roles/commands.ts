import { ROLES_STREAM, type RoleEvent, type RoleSpec } from '../../events/roles.js';
import type { CommandHandler } from '../handler.js';
import { commandMetadata, type RequestMeta } from '../metadata.js';
import type { AssignableRole } from './assignment.js';
import type { RoleCatalogState, RoleCommand } from './roleCatalog.js';
import type { LoadedRoles } from './roleFiles.js';

export type RoleCommandsDeps = Readonly<{
  handler: CommandHandler<RoleCatalogState, RoleCommand, RoleEvent>;
  now: () => string;
}>;

/** The role catalog's write side, and the authoritative lookup the project commands use. */
export const roleCommands = ({ handler, now }: RoleCommandsDeps) => {
  const run = (command: Omit<RoleCommand, 'metadata'>, meta: RequestMeta) =>
    handler.handle(ROLES_STREAM, { ...command, metadata: commandMetadata(meta, now()) } as RoleCommand);
  return {
    syncFiles: (loaded: LoadedRoles, meta: RequestMeta) =>
      run({ type: 'SyncRoleFiles', data: { roles: loaded.roles as RoleSpec[], sources: loaded.sources } }, meta),
    define: (role: RoleSpec, meta: RequestMeta) => run({ type: 'DefineRole', data: { role } }, meta),
    change: (role: RoleSpec, meta: RequestMeta) => run({ type: 'ChangeRole', data: { role } }, meta),
    retire: (name: string, meta: RequestMeta) => run({ type: 'RetireRole', data: { name } }, meta),
    definition: async (name: string): Promise<AssignableRole | undefined> => {
      const role = (await handler.load(ROLES_STREAM)).roles.get(name);
      return role ? ({ ...role.spec, retired: role.retired } as AssignableRole) : undefined;
    },
  };
};

export type RoleCommands = ReturnType<typeof roleCommands>;
