import { isIP } from 'node:net';

/**
 * The environment, parsed once and frozen. Every setting comes from here; nothing else reads process.env.
 * A bad value stops the process with a message naming the variable (see server.ts).
 */
export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Connections each process keeps to PostgreSQL at most (DATABASE_POOL_MAX, default 10). */
  databasePoolMax: number;
  /**
   * Whether the hot read path uses named prepared statements (DATABASE_PREPARE, default true). `false` for a pooler
   * that hands each transaction a different server connection (PgBouncer before 1.21 in transaction mode).
   */
  databasePrepare: boolean;
  /** Undefined only on the embedded database: server.ts then generates one and keeps it in DATA_DIR. */
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  publicUrl: string;
  /**
   * APP_URL: the web app's base URL, for every link in an email (invitations, resets, verification); defaults to
   * PUBLIC_URL, whose host has no such pages, so set it wherever people read the mails.
   */
  appUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  corsOrigins: readonly string[];
  passwordResetTtlSeconds: number;
  /** How long an email verification token stays valid (EMAIL_VERIFICATION_TTL, default 24h). */
  emailVerificationTtlSeconds: number;
  /** PLAN_SELF_SERVICE: company admins may attach paid plans without staff (no payment step exists in the API). */
  planSelfService: boolean;
  /** How long an invitation code stays valid (INVITATION_TTL, default 7d). */
  invitationTtlSeconds: number;
  /** Requests per minute and client IP on the public authentication routes (sign-up, login, reset). */
  authRateLimit: number;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** Sign-in with an external OpenID Connect provider; undefined when OIDC_ISSUER and OIDC_CLIENT_ID are unset. */
  oidc: OidcConfig | undefined;
  /** Where files live: `local` (DATA_DIR/files) or `s3` (S3-compatible object storage, S3_* settings). */
  storageDriver: 'local' | 's3';
  /** Set exactly when storageDriver is `s3`. */
  s3: S3Config | undefined;
  /** Whether `serve` also runs the job worker (WORKER, default on); `off` leaves jobs to `worker` processes. */
  worker: 'on' | 'off';
  /** Jobs one worker process runs at once (WORKER_CONCURRENCY, default 2). */
  workerConcurrency: number;
  /** How long a claimed job stays its worker's unrenewed (JOB_LEASE, default 30s): a dead worker's jobs wait that. */
  jobLeaseMs: number;
  /** A `worker` process serves GET /metrics on this port (0: any free one, logged) when set (WORKER_METRICS_PORT). */
  workerMetricsPort: number | undefined;
  /** When set, GET /metrics wants `Authorization: Bearer <METRICS_TOKEN>`; unset, it is open (METRICS_TOKEN). */
  metricsToken: string | undefined;
  /** REDIS_URL: rate-limit counters shared by every API process; undefined keeps them in each process's memory. */
  redisUrl: string | undefined;
  /** REDIS_KEY_PREFIX (default `leadsy:`): every key this installation writes to Redis starts with it. */
  redisKeyPrefix: string;
  /** Fastify's `trustProxy` (TRUST_PROXY): false, a hop count, or the proxies' addresses and CIDRs. */
  trustProxy: false | number | readonly string[];
  /** Requests per minute and signed-in user on every authenticated route (API_RATE_LIMIT, default 6000: 100 a second, as Stripe allows). */
  apiRateLimit: number;
  /** How long a stopping process lets in-flight requests and running jobs finish (SHUTDOWN_GRACE_MS, 10000). */
  shutdownGraceMs: number;
  /** How often an idle event stream sends a comment line (EVENT_STREAM_HEARTBEAT_MS, 15000). */
  eventStreamHeartbeatMs: number;
  /** The delays between a webhook delivery's attempts, in ms (WEBHOOK_RETRY_SCHEDULE, default 5s,5m,30m,2h,5h,10h,10h). */
  webhookRetryScheduleMs: readonly number[];
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may target private, loopback and link-local addresses and plain http://. */
  webhookAllowPrivate: boolean;
  /** How long a receiver has to answer a delivery (WEBHOOK_TIMEOUT, default 10s). */
  webhookTimeoutMs: number;
  /** An endpoint whose every attempt failed for this long is disabled (WEBHOOK_DISABLE_AFTER, default 5d). */
  webhookDisableAfterMs: number;
  /** How long delivered events and their attempts are kept (EVENT_RETENTION, default 30d). */
  eventRetentionMs: number;
}>;

export type S3Config = Readonly<{
  /** Undefined: AWS's own endpoint for the region. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`; what MinIO and most others expect. */
  forcePathStyle: boolean;
}>;

export type OidcConfig = Readonly<{
  issuer: string;
  clientId: string;
  /** Undefined: discovered from the issuer's /.well-known/openid-configuration. */
  jwksUri: string | undefined;
  /** The `provider` of the user_providers rows this provider links. */
  providerName: string;
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DURATION = /^(\d+)(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** "3600", "90s", "15m", "12h", "7d" → seconds. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[(match[2] ?? 's') as keyof typeof UNIT_SECONDS];
  return seconds > 0 ? seconds : undefined;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const duration = (name: string, fallback: string) => {
    const raw = read(name) ?? fallback;
    const seconds = parseDuration(raw);
    if (seconds === undefined) problems.push(`${name} must be a duration like 3600, 15m, 12h or 7d (got "${raw}")`);
    return seconds ?? 1;
  };
  const flag = (name: string, fallback: boolean) => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (!['true', 'false', '1', '0'].includes(raw)) problems.push(`${name} must be true or false (got "${raw}")`);
    return raw === 'true' || raw === '1';
  };
  const url = (name: string, protocols: string[]) => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return raw;
    } catch {
      problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
      return undefined;
    }
  };

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const jwtSecret = read('JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push('JWT_SECRET must be at least 32 characters');
  if (databaseUrl !== undefined && jwtSecret === undefined) {
    // Several API processes share one PostgreSQL: they must share the signing secret too.
    problems.push('JWT_SECRET is required when DATABASE_URL is set');
  }
  const metricsToken = read('METRICS_TOKEN');
  // A scraper's secret on the API port: short enough to guess is as good as open.
  if (metricsToken !== undefined && metricsToken.length < 16) {
    problems.push('METRICS_TOKEN must be at least 16 characters');
  }
  const logLevel = (read('LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const port = integer('PORT', 3000, 0, 65535);
  const givenPublicUrl = url('PUBLIC_URL', ['http:', 'https:']);
  if (databaseUrl !== undefined && read('PUBLIC_URL') === undefined) {
    // The token issuer: defaulted from each process's own PORT, nodes would reject each other's tokens.
    problems.push('PUBLIC_URL is required when DATABASE_URL is set (every API process must share it)');
  }
  const publicUrl = givenPublicUrl ?? `http://localhost:${port}`;
  const appUrl = url('APP_URL', ['http:', 'https:']) ?? publicUrl;
  const mailFrom = read('MAIL_FROM') ?? 'Leadsy <no-reply@leadsy.local>';
  if (!/^[^\n<>]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom)) problems.push('MAIL_FROM must be an email address');
  const corsOrigins = (read('CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com or * (got "${origin}")`);
    }
  }

  const worker = read('WORKER') ?? 'on';
  if (worker !== 'on' && worker !== 'off') problems.push(`WORKER must be on or off (got "${worker}")`);
  const oidc = readOidc(read, url, problems);
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const redisKeyPrefix = read('REDIS_KEY_PREFIX') ?? 'leadsy:';
  if (!/^[A-Za-z0-9:._-]{1,64}$/.test(redisKeyPrefix)) {
    problems.push('REDIS_KEY_PREFIX must be 1-64 of A-Z, a-z, 0-9, ":", ".", "_" and "-"');
  }
  const trustProxy = readTrustProxy(read('TRUST_PROXY'), problems);
  const storage = readStorage(read, url, problems);

  const config: Config = {
    port,
    host: read('HOST') ?? '0.0.0.0',
    dataDir: read('DATA_DIR') ?? './data',
    databaseUrl,
    databasePoolMax: integer('DATABASE_POOL_MAX', 10, 1, 10_000),
    databasePrepare: flag('DATABASE_PREPARE', true),
    jwtSecret,
    jwtTtlSeconds: duration('JWT_TTL', '12h'),
    logLevel,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    appUrl: appUrl.replace(/\/+$/, ''),
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom,
    corsOrigins,
    passwordResetTtlSeconds: duration('PASSWORD_RESET_TTL', '1h'),
    emailVerificationTtlSeconds: duration('EMAIL_VERIFICATION_TTL', '24h'),
    planSelfService: flag('PLAN_SELF_SERVICE', false),
    invitationTtlSeconds: duration('INVITATION_TTL', '7d'),
    authRateLimit: integer('AUTH_RATE_LIMIT', 20, 1, 1_000_000),
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    oidc,
    ...storage,
    worker: worker === 'off' ? 'off' : 'on',
    workerConcurrency: integer('WORKER_CONCURRENCY', 2, 1, 64),
    jobLeaseMs: duration('JOB_LEASE', '30s') * 1000,
    workerMetricsPort:
      read('WORKER_METRICS_PORT') === undefined ? undefined : integer('WORKER_METRICS_PORT', 0, 0, 65535),
    metricsToken,
    redisUrl,
    redisKeyPrefix,
    trustProxy,
    apiRateLimit: integer('API_RATE_LIMIT', 6_000, 1, 1_000_000),
    shutdownGraceMs: integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    eventStreamHeartbeatMs: integer('EVENT_STREAM_HEARTBEAT_MS', 15_000, 50, 300_000),
    webhookRetryScheduleMs: readRetrySchedule(read('WEBHOOK_RETRY_SCHEDULE') ?? '5s,5m,30m,2h,5h,10h,10h', problems),
    webhookAllowPrivate: flag('WEBHOOK_ALLOW_PRIVATE', false),
    webhookTimeoutMs: readMilliseconds('WEBHOOK_TIMEOUT', read('WEBHOOK_TIMEOUT') ?? '10s', problems, 60_000),
    webhookDisableAfterMs: duration('WEBHOOK_DISABLE_AFTER', '5d') * 1000,
    eventRetentionMs: duration('EVENT_RETENTION', '30d') * 1000,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

const MILLISECONDS = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "1500ms", "5s", "2h" → ms, at most `max`; a problem naming the variable otherwise. */
function readMilliseconds(name: string, raw: string, problems: string[], max: number): number {
  const match = MILLISECONDS.exec(raw.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS] : 0;
  if (!match || ms <= 0 || ms > max) {
    problems.push(`${name} must be a duration like 500ms, 5s, 30m or 10h, at most ${max / 1000}s (got "${raw}")`);
    return 1000;
  }
  return ms;
}

/**
 * WEBHOOK_RETRY_SCHEDULE: the delays between attempts, comma-separated (`5s,5m,30m,2h,5h,10h,10h`, about a day;
 * tests use `1s,2s,4s,8s` or milliseconds). At most 20 steps of at most 7 days each.
 */
function readRetrySchedule(raw: string, problems: string[]): number[] {
  const steps = raw.split(',').map((step) => step.trim());
  if (steps.length > 20 || steps.some((step) => step === '')) {
    problems.push(`WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated durations (got "${raw}")`);
    return [1000];
  }
  return steps.map((step) => readMilliseconds('WEBHOOK_RETRY_SCHEDULE', step, problems, 7 * 86_400_000));
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: unset, `false` or `0` trusts no proxy (the socket's address is the client's); a number trusts that
 * many hops of X-Forwarded-For; otherwise a comma-separated list of the proxies' addresses or CIDRs (or proxy-addr's
 * `loopback`, `linklocal`, `uniquelocal`). `true` (trust every hop) is refused: any client could then pick its address.
 */
function readTrustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (/^[0-9]+$/.test(raw)) {
    const hops = Number(raw);
    if (hops <= 32) return hops;
  }
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const valid = (entry: string) => {
    if (PROXY_NAMES.includes(entry)) return true;
    const [address, bits, extra] = entry.split('/');
    const version = isIP(address ?? '');
    if (version === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
  };
  if (entries.length === 0 || !entries.every(valid)) {
    problems.push(
      'TRUST_PROXY must be a hop count (1-32) or comma-separated proxy addresses or CIDRs like 10.0.0.0/8 ' +
        `(got "${raw}")`,
    );
    return false;
  }
  return Object.freeze(entries);
}

/** OIDC_ISSUER and OIDC_CLIENT_ID come together or not at all: half a provider is a mistake, not a default. */
function readOidc(
  read: (name: string) => string | undefined,
  url: (name: string, protocols: string[]) => string | undefined,
  problems: string[],
): OidcConfig | undefined {
  const issuer = url('OIDC_ISSUER', ['http:', 'https:']);
  const clientId = read('OIDC_CLIENT_ID');
  const jwksUri = url('OIDC_JWKS_URI', ['http:', 'https:']);
  const providerName = read('OIDC_PROVIDER_NAME') ?? 'oidc';
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(providerName) || providerName === 'password') {
    problems.push('OIDC_PROVIDER_NAME must be 1-32 of a-z, 0-9, _ and -, and not "password"');
  }
  if ((read('OIDC_ISSUER') === undefined) !== (clientId === undefined)) {
    problems.push('OIDC_ISSUER and OIDC_CLIENT_ID must be set together');
  }
  if (issuer === undefined || clientId === undefined) return undefined;
  return Object.freeze({ issuer, clientId, jwksUri, providerName });
}

/** STORAGE_DRIVER=s3 without a bucket or credentials would fail on the first upload: refuse to start instead. */
function readStorage(
  read: (name: string) => string | undefined,
  url: (name: string, protocols: string[]) => string | undefined,
  problems: string[],
): Pick<Config, 'storageDriver' | 's3'> {
  const driver = read('STORAGE_DRIVER') ?? 'local';
  if (driver !== 'local' && driver !== 's3') {
    problems.push(`STORAGE_DRIVER must be local or s3 (got "${driver}")`);
    return { storageDriver: 'local', s3: undefined };
  }
  if (driver === 'local') return { storageDriver: 'local', s3: undefined };
  const endpoint = url('S3_ENDPOINT', ['http:', 'https:']);
  const bucket = read('S3_BUCKET');
  const accessKeyId = read('S3_ACCESS_KEY_ID');
  const secretAccessKey = read('S3_SECRET_ACCESS_KEY');
  const pathStyle = (read('S3_FORCE_PATH_STYLE') ?? 'true').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(pathStyle)) problems.push('S3_FORCE_PATH_STYLE must be true or false');
  for (const [name, value] of [
    ['S3_BUCKET', bucket],
    ['S3_ACCESS_KEY_ID', accessKeyId],
    ['S3_SECRET_ACCESS_KEY', secretAccessKey],
  ] as const) {
    if (value === undefined) problems.push(`${name} is required when STORAGE_DRIVER=s3`);
  }
  if (bucket === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    return { storageDriver: 's3', s3: undefined };
  }
  const s3 = {
    endpoint,
    region: read('S3_REGION') ?? 'us-east-1',
    bucket,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: pathStyle === 'true' || pathStyle === '1',
  };
  return { storageDriver: 's3', s3: Object.freeze(s3) };
}

/** With STORAGE_DRIVER=local, several processes see the same files only through one shared volume. */
export function sharedStorageWarning(config: Config): string | undefined {
  if (config.databaseUrl === undefined || config.storageDriver !== 'local') return undefined;
  return (
    `STORAGE_DRIVER=local with DATABASE_URL: every API and worker process must share ${config.dataDir.replace(/\/+$/, '')}/files ` +
    '(one volume mounted on every node), or files uploaded through one node are missing on the others; ' +
    'or use STORAGE_DRIVER=s3'
  );
}
