import { createSecretKey } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from './clock.ts';

export type TokenClaims = { userId: number; tokenVersion: number; expiresAt: Date };

const ALGORITHM = 'HS256';
const AUDIENCE = 'leadsy-api';

/** JWT access tokens: one pinned algorithm; iss, aud, exp, iat and the user's token version are always checked. */
// Verified tokens, so a client's repeated requests skip the HMAC check (~70 µs). Expiry (the earlier of exp and
// iat + JWT_TTL) is still checked on every use, and revocation never depended on this: the token version is
// compared with the database per request.
const VERIFIED_CACHE_SIZE = 10_000;
// Clocks of the processes that sign and verify may disagree by this much.
const CLOCK_SKEW_SECONDS = 60;

/**
 * When a token stops being accepted: its `exp`, but never later than JWT_TTL after `iat`. A token minted with a
 * far `exp` (a leaked secret, a bug) still dies with the configured lifetime. Undefined: `iat` is in the future.
 */
function acceptedUntil(iat: number, exp: number, ttlSeconds: number, nowSeconds: number): Date | undefined {
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return undefined;
  return new Date(Math.min(exp, iat + ttlSeconds + CLOCK_SKEW_SECONDS) * 1000);
}

export function createTokenService(deps: { secret: string; issuer: string; ttlSeconds: number; clock: Clock }) {
  // A KeyObject is imported once; a raw Uint8Array would be imported again on every verification.
  const key = createSecretKey(Buffer.from(deps.secret, 'utf8'));
  const verified = new Map<string, TokenClaims>();

  async function verifySignature(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALGORITHM],
        issuer: deps.issuer,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub', 'iss', 'aud'],
        currentDate: deps.clock.now(),
      });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.ver !== 'number') return undefined;
      const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
      const expiresAt = acceptedUntil(payload.iat ?? 0, payload.exp ?? 0, deps.ttlSeconds, nowSeconds);
      return expiresAt && { userId, tokenVersion: payload.ver, expiresAt };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return undefined;
      throw error;
    }
  }

  return {
    async sign(userId: number, tokenVersion: number) {
      const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
      const exp = nowSeconds + deps.ttlSeconds;
      const token = await new SignJWT({ ver: tokenVersion })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(String(userId))
        .setIssuer(deps.issuer)
        .setAudience(AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(exp)
        .sign(key);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    /** Undefined for anything that is not a valid, unexpired token of ours. */
    async verify(token: string): Promise<TokenClaims | undefined> {
      const cached = verified.get(token);
      const claims = cached ?? (await verifySignature(token));
      if (!claims || claims.expiresAt <= deps.clock.now()) {
        if (cached) verified.delete(token);
        return undefined;
      }
      if (!cached) {
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(token, claims);
      }
      return claims;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
