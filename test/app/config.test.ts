import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults for the embedded shape', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, host: '0.0.0.0', dataDir: './data', jwtTtlSeconds: 43_200 });
    expect(config.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses durations', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('0')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        JWT_TTL: 'forever',
        LOG_LEVEL: 'loud',
        SMTP_URL: 'http://mail',
        CORS_ORIGINS: 'not an origin',
        PUBLIC_URL: 'ftp://x',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'JWT_TTL', 'LOG_LEVEL', 'SMTP_URL', 'CORS_ORIGINS', 'PUBLIC_URL']) {
      expect(text).toContain(name);
    }
  });

  it('takes an optional METRICS_TOKEN of at least 16 characters', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'm'.repeat(16) }).metricsToken).toBe('m'.repeat(16));
    expect(() => loadConfig({ METRICS_TOKEN: 'short-token' })).toThrow(/METRICS_TOKEN must be at least 16/);
  });

  it('requires a strong JWT_SECRET with DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://localhost/leadsy' })).toThrow(/JWT_SECRET is required/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32/);
    const config = loadConfig({
      DATABASE_URL: 'postgres://localhost/leadsy',
      JWT_SECRET: 's'.repeat(32),
      PUBLIC_URL: 'https://api.example.com',
    });
    expect(config.databaseUrl).toBe('postgres://localhost/leadsy');
  });

  // Issue 12, repro 6: the issuer defaulted to http://localhost:$PORT, so nodes on other ports refused each
  // other's tokens.
  it('requires PUBLIC_URL with DATABASE_URL, so every node issues and accepts the same issuer', () => {
    const scaled = { DATABASE_URL: 'postgres://localhost/leadsy', JWT_SECRET: 's'.repeat(32) };
    expect(() => loadConfig(scaled)).toThrow(/PUBLIC_URL is required when DATABASE_URL is set/);
    expect(() => loadConfig({ ...scaled, PUBLIC_URL: ' ' })).toThrow(/PUBLIC_URL is required/);
    const a = loadConfig({ ...scaled, PORT: '3001', PUBLIC_URL: 'https://api.example.com/' });
    const b = loadConfig({ ...scaled, PORT: '3002', PUBLIC_URL: 'https://api.example.com' });
    expect(a.publicUrl).toBe(b.publicUrl);
    // The embedded shape is one process: its default stays.
    expect(loadConfig({ PORT: '4000' }).publicUrl).toBe('http://localhost:4000');
  });

  it('reads the scaled shape’s settings: Redis, proxies, API rate limit, shutdown grace', () => {
    expect(loadConfig({})).toMatchObject({
      redisUrl: undefined,
      redisKeyPrefix: 'leadsy:',
      trustProxy: false,
      apiRateLimit: 6000,
      shutdownGraceMs: 10_000,
    });
    expect(
      loadConfig({
        REDIS_URL: 'redis://127.0.0.1:6379/2',
        REDIS_KEY_PREFIX: 'prod:',
        API_RATE_LIMIT: '1200',
        SHUTDOWN_GRACE_MS: '0',
      }),
    ).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379/2',
      redisKeyPrefix: 'prod:',
      apiRateLimit: 1200,
      shutdownGraceMs: 0,
    });
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,loopback' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'loopback',
    ]);
    for (const bad of ['true', '10.0.0.0/33', 'proxy.example.com', '1.2.3.4/8/1', ',']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY must be/);
    }
    expect(() => loadConfig({ REDIS_URL: 'http://redis' })).toThrow(/REDIS_URL must be a redis: or rediss: URL/);
    expect(() => loadConfig({ REDIS_KEY_PREFIX: 'a b' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(() => loadConfig({ API_RATE_LIMIT: '0' })).toThrow(/API_RATE_LIMIT/);
    expect(() => loadConfig({ SHUTDOWN_GRACE_MS: 'soon' })).toThrow(/SHUTDOWN_GRACE_MS/);
  });
});
