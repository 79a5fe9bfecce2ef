import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { PluginCommands } from '../../commands/plugins/commands.js';
import { DomainError } from '../../errors.js';
import { CAPABILITIES } from '../../events/vocabulary.js';
import { grantOf, pluginStatus } from '../../queries/plugins.js';
import type { TokenService } from './tokens.js';

const ADMIN_PLUGIN_ID = 'admin';

/** Replaces the admin token file atomically, mode 0600. */
export const writeAdminToken = (file: string, token: string): void => {
  fs.writeFileSync(`${file}.tmp`, `${token}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
};

const SYSTEM = { actor: 'system', tool: 'bootstrap' } as const;

/**
 * First start: registers the `admin` plugin with every capability. Every start: makes sure
 * the admin token `file` (mode 0600) holds a valid token for more than an hour, issuing a new one if not.
 */
export const ensureAdminToken = async (deps: {
  file: string;
  readDb: Database.Database;
  plugins: PluginCommands;
  tokens: TokenService;
  waitForReadModel: (position: number) => Promise<void>;
  logger: Logger;
}): Promise<string> => {
  const { file, readDb, plugins, tokens, waitForReadModel, logger } = deps;
  const grant = grantOf(readDb);
  const admin = pluginStatus(readDb, ADMIN_PLUGIN_ID);
  if (admin === 'revoked') {
    logger.warn({ pluginId: ADMIN_PLUGIN_ID }, 'the admin plugin is revoked; no admin token is written');
    return file;
  }
  if (!admin) {
    try {
      const registered = await plugins.register(
        { pluginId: ADMIN_PLUGIN_ID, name: 'Administrator', type: 'admin', capabilities: [...CAPABILITIES] },
        { ...SYSTEM, commandId: `bootstrap-admin-${randomUUID()}` },
      );
      await waitForReadModel(registered.position);
    } catch (error) {
      // Another node on the same log registered it first (both started on an empty log): theirs is as good.
      if (!(error instanceof DomainError) || error.code !== 'PLUGIN_EXISTS') throw error;
    }
  }
  if (fs.existsSync(file)) {
    try {
      const claims = await tokens.verify(fs.readFileSync(file, 'utf8').trim());
      const current = grant(claims.pluginId, claims.jti);
      if (current.pluginActive && current.tokenKnown && !current.tokenRevoked && Date.parse(claims.expiresAt) - Date.now() > 3_600_000) return file;
    } catch {
      // expired, revoked or signed with another secret: replaced below
    }
  }
  const issued = await tokens.issue(ADMIN_PLUGIN_ID, CAPABILITIES, tokens.ttl(), randomUUID());
  const recorded = await plugins.recordToken(
    { pluginId: ADMIN_PLUGIN_ID, jti: issued.jti, capabilities: [...CAPABILITIES], expiresAt: issued.expiresAt },
    { ...SYSTEM, commandId: `bootstrap-token-${issued.jti}` },
  );
  await waitForReadModel(recorded.position);
  writeAdminToken(file, issued.token);
  logger.info({ file, expiresAt: issued.expiresAt }, 'wrote a new admin token');
  return file;
};
