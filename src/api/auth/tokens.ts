import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { DomainError } from '../../errors.js';

export const ISSUER = 'vespera';
export const AUDIENCE = 'vespera-api';

export type TokenClaims = Readonly<{ pluginId: string; jti: string; capabilities: string[]; issuedAt: string; expiresAt: string }>;
export type IssuedToken = TokenClaims & { token: string };

const unauthorized = (code: string, message: string) =>
  new DomainError(code, 401, message, {}, 'Send `Authorization: Bearer <token>` with a valid, unrevoked plugin token.');

/** HS256 plugin tokens: signed and verified here, revocation checked by the caller against the log. */
export class TokenService {
  constructor(
    private readonly secret: Uint8Array,
    private readonly defaultTtlSeconds: number,
    private readonly maxTtlSeconds: number,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Lifetime asked for, defaulted and capped. */
  ttl(requested?: number): number {
    return Math.min(requested ?? this.defaultTtlSeconds, this.maxTtlSeconds);
  }

  async issue(pluginId: string, capabilities: readonly string[], ttlSeconds?: number, jti: string = randomUUID()): Promise<IssuedToken> {
    const issuedAt = this.nowSeconds();
    const exp = issuedAt + this.ttl(ttlSeconds);
    const token = await new SignJWT({ capabilities: [...capabilities] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(pluginId)
      .setJti(jti)
      .setIssuedAt(issuedAt)
      .setExpirationTime(exp)
      .sign(this.secret);
    return {
      token,
      pluginId,
      jti,
      capabilities: [...capabilities],
      issuedAt: new Date(issuedAt * 1000).toISOString(),
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
        currentDate: new Date(this.nowSeconds() * 1000),
      });
      const capabilities = payload.capabilities;
      if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === 'string')) {
        throw unauthorized('TOKEN_INVALID', 'The token carries no capability list.');
      }
      return {
        pluginId: payload.sub!,
        jti: payload.jti!,
        capabilities,
        issuedAt: new Date(payload.iat! * 1000).toISOString(),
        expiresAt: new Date(payload.exp! * 1000).toISOString(),
      };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('TOKEN_EXPIRED', 'The token has expired; refresh it or ask for a new one.');
      throw unauthorized('TOKEN_INVALID', 'The token is malformed, not signed by this server, or not meant for it.');
    }
  }
}
