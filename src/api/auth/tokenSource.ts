import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';

/**
 * Where a local client's token comes from, in this order: the variable, a file named by a variable, the admin token. A
 * bridged MCP session (api/mcp/socket.ts) names the same: the token its bridge was given, or the file to read it from.
 * Light on purpose (no MCP or HTTP imports): the CLI's task commands read it on every run.
 */
export type TokenSource = Readonly<{ kind: 'env'; token: string } | { kind: 'file' | 'admin'; file: string }>;

export const tokenSource = (adminTokenFile: string, env: NodeJS.ProcessEnv): TokenSource =>
  env.VESPERA_TOKEN?.trim()
    ? { kind: 'env', token: env.VESPERA_TOKEN.trim() }
    : env.VESPERA_TOKEN_FILE?.trim()
      ? { kind: 'file', file: path.resolve(env.VESPERA_TOKEN_FILE.trim()) }
      : { kind: 'admin', file: adminTokenFile };

/** The token itself; a file that is missing or empty is the operator's to fix (ConfigError). */
export const readToken = (source: TokenSource): string => {
  if (source.kind === 'env') return source.token;
  const token = fs.existsSync(source.file) ? fs.readFileSync(source.file, 'utf8').trim() : '';
  if (!token)
    throw new ConfigError([
      source.kind === 'file'
        ? `VESPERA_TOKEN_FILE names ${source.file}, which holds no token`
        : `Neither VESPERA_TOKEN nor VESPERA_TOKEN_FILE is set, and ${source.file} holds no token`,
    ]);
  return token;
};
