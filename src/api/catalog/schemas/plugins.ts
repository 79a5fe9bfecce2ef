import { z } from 'zod';
import { CAPABILITIES } from '../../../events/vocabulary.js';
import * as c from './common.js';

/** Input and output schemas of plugins and their tokens (`../plugins.ts`). */

const pluginId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/)
  .describe('Plugin id');
const capabilities = z.array(z.enum(CAPABILITIES)).min(1).max(CAPABILITIES.length).meta({ uniqueItems: true, description: 'Capabilities granted' });
const ttlSeconds = z.int().min(60).max(31_536_000).describe('Token lifetime in seconds (capped by the server)');
const reason = z.string().max(500).describe('Why, kept in the audit log');

const pluginView = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  capabilities: z.array(z.string()),
  status: z.enum(['active', 'revoked']),
  revokedReason: z.string().nullable().optional(),
  activeTokens: z.int(),
  registeredAt: z.string(),
  updatedAt: z.string().optional(),
});

const tokenView = z.object({
  token: z.string(),
  pluginId: z.string(),
  jti: z.string(),
  capabilities: z.array(z.string()),
  issuedAt: z.string().optional(),
  expiresAt: z.string(),
});

export const registerPlugin = {
  input: z.strictObject({
    id: pluginId.optional(),
    name: z.string().min(1).max(100).regex(/\S/).describe('Display name'),
    type: z
      .string()
      .min(1)
      .max(50)
      .regex(/^[a-z0-9_-]+$/)
      .describe('e.g. agent, vscode, cli, script'),
    capabilities,
  }),
  output: pluginView,
};

export const listPlugins = { input: z.strictObject({ limit: c.limit, cursor: c.cursor.optional() }), output: c.page(pluginView) };

export const whoAmI = {
  input: z.strictObject({}),
  output: z.object({
    actor: z.string(),
    pluginId: z.string().nullable().optional(),
    jti: z.string().nullable().optional(),
    capabilities: z.array(z.string()),
    expiresAt: z.string().nullable().optional(),
    role: z.string().nullable().optional(),
  }),
};

export const refreshToken = { input: z.strictObject({ ttlSeconds: ttlSeconds.optional() }), output: tokenView };

export const getPlugin = { input: z.strictObject({ pluginId }), output: pluginView };

export const changePluginCapabilities = { input: z.strictObject({ pluginId, capabilities }), output: pluginView };

export const revokePlugin = { input: z.strictObject({ pluginId, reason: reason.optional() }), output: pluginView };

export const issueToken = {
  input: z.strictObject({ pluginId, capabilities: capabilities.optional(), ttlSeconds: ttlSeconds.optional() }),
  output: tokenView,
};

export const revokeToken = {
  input: z.strictObject({
    pluginId,
    jti: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/)
      .describe('Token id: the `jti` claim of the token'),
    reason: reason.optional(),
  }),
  output: z.object({ pluginId: z.unknown(), jti: z.unknown(), revoked: z.boolean(), position: z.int() }),
};
