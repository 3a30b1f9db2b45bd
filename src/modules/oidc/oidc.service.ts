import {
  createRemoteJWKSet,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type { OidcConfig } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { normalizeEmail } from '../../lib/email.ts';
import { AppError } from '../../lib/errors.ts';
import type { TokenService } from '../../lib/tokens.ts';
import {
  findUserProvider,
  insertUserProvider,
  updateUserProviderEmail,
} from '../user-providers/user-providers.repository.ts';
import { revokeCredentials } from '../users/credentials.repository.ts';
import { findUserByEmail, findUserById, insertUser, type UserRow } from '../users/users.repository.ts';
import { lostSignInRace } from './oidc.repository.ts';

/** Asymmetric algorithms only: an HS* token would be "signed" with the client id, which is not a secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 60;
const FETCH_TIMEOUT_MS = 5000;
const NAME_MAX = 100;

export type OidcIdentity = { subject: string; email: string; firstName: string; lastName: string };

const invalidToken = () =>
  new AppError(
    401,
    'invalid_id_token',
    'Unauthorized',
    'The ID token is invalid, expired or not for this application.',
  );
const unverifiedEmail = () =>
  new AppError(401, 'email_not_verified', 'Unauthorized', 'The ID token carries no email verified by the provider.');
const inactive = () => new AppError(401, 'account_inactive', 'Unauthorized', 'This account is deactivated.');
const notConfigured = () =>
  new AppError(501, 'oidc_not_configured', 'Not Implemented', 'Sign-in with OpenID Connect is not configured here.');
const unavailable = (cause: unknown) =>
  Object.assign(
    new AppError(
      503,
      'oidc_unavailable',
      'Service Unavailable',
      'The identity provider cannot be reached; retry later.',
    ),
    { cause },
  );

/** The provider's side failed (discovery, JWKS fetch): a 503, not the caller's fault. */
class ProviderUnreachable extends Error {}

/** OpenID Connect Discovery 1.0: the document lives under the issuer and must name that same issuer. */
async function discoverJwksUri(issuer: string): Promise<string> {
  const response = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new ProviderUnreachable(`discovery answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new ProviderUnreachable(`discovery names issuer ${String(document.issuer)}`);
  if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) {
    throw new ProviderUnreachable('discovery has no http(s) jwks_uri');
  }
  return document.jwks_uri;
}

/**
 * The issuer's keys. The discovery document is fetched once (again only after a failure); jose caches the JWKS
 * and refetches it, at most every 30 s, when a token names a key id it does not know (key rotation).
 */
function createKeyResolver(config: OidcConfig) {
  type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;
  let remote: Promise<RemoteKeys> | undefined;
  const keySet = () => {
    if (remote) return remote;
    const pending = (config.jwksUri ? Promise.resolve(config.jwksUri) : discoverJwksUri(config.issuer)).then((uri) =>
      createRemoteJWKSet(new URL(uri), { timeoutDuration: FETCH_TIMEOUT_MS }),
    );
    remote = pending;
    pending.catch(() => {
      if (remote === pending) remote = undefined;
    });
    return pending;
  };
  return async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const keys = await keySet().catch((error: unknown) => {
      throw new ProviderUnreachable('OpenID discovery failed', { cause: error });
    });
    try {
      return await keys(header, token);
    } catch (error) {
      // An unknown key id or key type is the token's fault; a failed or malformed fetch is the provider's.
      const tokenFault =
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys ||
        error instanceof joseErrors.JOSENotSupported;
      if (tokenFault) throw error;
      throw new ProviderUnreachable('JWKS fetch failed', { cause: error });
    }
  };
}

// PostgreSQL text cannot hold NUL, and no name needs control characters.
const CONTROL = /\p{Cc}/gu;
const text = (value: unknown) =>
  typeof value === 'string' ? Array.from(value.replace(CONTROL, '').trim()).slice(0, NAME_MAX).join('') : '';

/** given_name/family_name, else `name` split at its first space, else the email's local part. */
function namesOf(payload: JWTPayload, email: string) {
  let firstName = text(payload.given_name);
  let lastName = text(payload.family_name);
  if (!firstName && !lastName) {
    const [first = '', ...rest] = text(payload.name).split(/\s+/);
    firstName = first;
    lastName = rest.join(' ');
  }
  return { firstName: firstName || text(email.split('@')[0]), lastName };
}

function identityOf(payload: JWTPayload, clientId: string): OidcIdentity {
  const subject = payload.sub ?? '';
  if (subject.length === 0 || subject.length > 255 || /\p{Cc}/u.test(subject)) throw invalidToken();
  // OIDC Core 3.1.3.7: with several audiences, the authorized party must be us.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== clientId) throw invalidToken();
  const email = typeof payload.email === 'string' ? normalizeEmail(payload.email) : '';
  if (payload.email_verified !== true || email.length > 254 || !/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u.test(email)) {
    throw unverifiedEmail();
  }
  return { subject, email, ...namesOf(payload, email) };
}

/** Verifies an ID token of the configured provider; the only place that touches the network. */
function createIdTokenVerifier(config: OidcConfig, clock: Clock) {
  const keys = createKeyResolver(config);
  return async (idToken: string): Promise<OidcIdentity> => {
    try {
      const { payload } = await jwtVerify(idToken, keys, {
        issuer: config.issuer,
        audience: config.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: clock.now(),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return identityOf(payload, config.clientId);
    } catch (error) {
      if (error instanceof ProviderUnreachable) throw unavailable(error);
      if (error instanceof joseErrors.JOSEError) throw invalidToken();
      throw error;
    }
  };
}

export function createOidcService(deps: {
  db: Db;
  tokens: TokenService;
  clock: Clock;
  config: OidcConfig | undefined;
}) {
  const { db, config } = deps;
  const verify = config ? createIdTokenVerifier(config, deps.clock) : undefined;

  /**
   * The linked user; else the user with that address, now linked; else a new user, linked. An account whose address
   * was never proven may have been opened by anyone who typed it (pre-account takeover): the verified identity
   * claims it, and the unproven password and every credential issued under it end.
   */
  function linkOrCreate(provider: string, identity: OidcIdentity): Promise<UserRow> {
    return db.transaction(async (tx) => {
      const link = await findUserProvider(tx, provider, identity.subject);
      if (link) {
        const user = (await findUserById(tx, link.userId))!;
        if (user.status === 'inactive') throw inactive();
        if (link.email !== identity.email) await updateUserProviderEmail(tx, link.id, identity.email);
        return user;
      }
      const existing = await findUserByEmail(tx, identity.email);
      if (existing?.status === 'inactive') throw inactive();
      const now = deps.clock.now();
      const user = existing
        ? existing.emailVerifiedAt
          ? existing
          : await revokeCredentials(tx, existing.id, now, {
              passwordHash: null,
              pendingEmail: null,
              emailVerifiedAt: now,
              failedLogins: 0,
              lockedUntil: null,
            })
        : await insertUser(tx, {
            firstName: identity.firstName,
            lastName: identity.lastName,
            email: identity.email,
            passwordHash: null,
            status: 'active',
            emailVerifiedAt: now,
          });
      await insertUserProvider(tx, { userId: user.id, provider, subject: identity.subject, email: identity.email });
      return user;
    });
  }

  return {
    async login(idToken: string) {
      if (!config || !verify) throw notConfigured();
      // Verified (and the JWKS fetched) before any transaction opens: no connection waits on the network.
      const identity = await verify(idToken);
      const user = await linkOrCreate(config.providerName, identity).catch((error: unknown) => {
        // Two first sign-ins raced to create the same user or link: the second finds what the first made.
        if (lostSignInRace(error)) return linkOrCreate(config.providerName, identity);
        throw error;
      });
      const { token, expiresAt } = await deps.tokens.sign(user.id, user.tokenVersion);
      return { token, expiresAt, user };
    },
  };
}

export type OidcService = ReturnType<typeof createOidcService>;
