import { DomainError } from '../../errors.js';
import type { Grant } from '../../queries/plugins.js';
import type { RoleStatus } from '../../queries/roles.js';
import { CAPABILITIES, holdsCapability, type Capability } from '../../events/vocabulary.js';
import type { TokenClaims, TokenService } from './tokens.js';

/** A capability, or `authenticated` for operations any valid token may run (`me`, token refresh). */
export type Requirement = Capability | 'authenticated';

/** The authenticated caller of one request. */
export type Caller = Readonly<{
  actor: string;
  capabilities: readonly string[];
  pluginId?: string;
  jti?: string;
  issuedAt?: string;
  expiresAt?: string;
  /** The role the caller acts for (`X-Vespera-Role`): an existing, live role, recorded in every event it causes. */
  role?: string;
}>;

export const ROLE_NAME = /^[a-z][a-z0-9_]{1,63}$/;
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

const unauthorized = (code: string, message: string) =>
  new DomainError(code, 401, message, {}, 'Send `Authorization: Bearer <token>` with a valid plugin token.');

const ROLES_HINT = 'GET /api/v1/roles (MCP: list_roles) lists the roles you may act as; or send no X-Vespera-Role.';

/**
 * The one place that decides who a caller is (token signature, expiry, revocation in the log) and
 * whether it may run an operation (its capability). REST and MCP both go through it.
 */
export class Authorizer {
  /** Verified signatures, by token, until they expire: revocation is still checked on every request. */
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    private readonly tokens: TokenService,
    private readonly grantOf: (pluginId: string, jti: string) => Grant,
    readonly enabled: boolean,
    private readonly roleStatus: (name: string) => RoleStatus,
    /**
     * Brings the read model up to the log's head. A token another process (the CLI) has just issued may be
     * in the log before this process has projected it; a signed token the model does not know yet is
     * looked up once more after this instead of being refused.
     */
    private readonly settle: () => Promise<void> = async () => {},
  ) {}

  /**
   * The caller behind an Authorization header, acting for `role` when one is named. Plugins carry no role
   * list, so a caller may act as any role that exists and is live; an unknown or retired one is refused
   * (422) rather than written into history.
   */
  async authenticate(authorization: string | undefined, role?: string): Promise<Caller | undefined> {
    if (role !== undefined && !ROLE_NAME.test(role)) {
      throw new DomainError('INVALID_HEADER', 400, 'X-Vespera-Role must be a role name (lower-case letters, digits, _).');
    }
    const caller = await this.identify(authorization);
    if (!caller || role === undefined) return caller;
    const status = this.roleStatus(role);
    if (status === undefined)
      throw new DomainError('UNKNOWN_ROLE', 422, `X-Vespera-Role names role \`${role}\`, which does not exist.`, { role }, ROLES_HINT);
    if (status === 'retired')
      throw new DomainError('ROLE_RETIRED', 422, `X-Vespera-Role names role \`${role}\`, which is retired.`, { role }, ROLES_HINT);
    return { ...caller, role };
  }

  private async identify(authorization: string | undefined): Promise<Caller | undefined> {
    if (!this.enabled) return { actor: 'anonymous', capabilities: CAPABILITIES };
    if (authorization === undefined || authorization === '') return undefined;
    const match = BEARER.exec(authorization.trim());
    if (!match) throw unauthorized('TOKEN_MALFORMED', 'The Authorization header must read `Bearer <JWT>`.');
    const claims = await this.verifyCached(match[1]!);
    let grant = this.grantOf(claims.pluginId, claims.jti);
    if (!grant.tokenKnown || (!grant.pluginActive && !grant.tokenRevoked)) {
      await this.settle();
      grant = this.grantOf(claims.pluginId, claims.jti);
    }
    if (!grant.pluginActive) throw unauthorized('TOKEN_REVOKED', 'The plugin this token belongs to is revoked or unknown.');
    if (!grant.tokenKnown || grant.tokenRevoked) throw unauthorized('TOKEN_REVOKED', 'This token has been revoked or was never issued here.');
    const capabilities = claims.capabilities.filter((c) => grant.pluginCapabilities.includes(c));
    const { pluginId, jti, issuedAt, expiresAt } = claims;
    return { actor: pluginId, pluginId, jti, issuedAt, expiresAt, capabilities };
  }

  private async verifyCached(token: string): Promise<TokenClaims> {
    const cached = this.verified.get(token);
    if (cached && Date.parse(cached.expiresAt) > Date.now()) return cached;
    this.verified.delete(token);
    const claims = await this.tokens.verify(token);
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }

  /** Whether `caller` may run an operation needing `requirement`, for listing what it may call; `authorize` refuses. */
  allows(caller: Caller | undefined, requirement: Requirement): boolean {
    return caller !== undefined && (requirement === 'authenticated' || holdsCapability(caller.capabilities, requirement));
  }

  /** 401 without a caller; 403 when the caller lacks the capability (`admin` holds every capability, `audit_admin` holds `audit_reading`). */
  authorize(caller: Caller | undefined, requirement: Requirement): Caller {
    if (!caller) throw unauthorized('AUTHENTICATION_REQUIRED', 'This operation needs a plugin token.');
    if (this.allows(caller, requirement)) return caller;
    throw new DomainError(
      'MISSING_CAPABILITY',
      403,
      `This operation needs the \`${requirement}\` capability, which the token does not carry.`,
      { required: requirement as Capability, granted: caller.capabilities },
      'Ask an administrator for a token with that capability.',
    );
  }
}
