import { createSecretKey } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from './clock.ts';

export type TokenClaims = { userId: number; tokenVersion: number; expiresAt: Date };

const ALGORITHM = 'HS256';
const AUDIENCE = 'leadsy-api';

/** JWT access tokens: one pinned algorithm; iss, aud, exp and the user's token version are always checked. */
// Verified tokens, so a client's repeated requests skip the HMAC check (~70 µs). Expiry is still checked on every
// use, and revocation never depended on this: the token version is compared with the database per request.
const VERIFIED_CACHE_SIZE = 10_000;

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
        requiredClaims: ['exp', 'sub', 'iss', 'aud'],
        currentDate: deps.clock.now(),
      });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.ver !== 'number') return undefined;
      return { userId, tokenVersion: payload.ver, expiresAt: new Date((payload.exp ?? 0) * 1000) };
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
