import { randomBytes } from 'node:crypto';
import type { Database, Db } from '../../db/client.ts';
import type { ListenState } from '../../db/listen.ts';
import { AUTHZ_CHANNEL, notifyAuthz } from './authz.repository.ts';

/**
 * A per-process cache of what every authenticated request reads before its handler: the user's principal row and
 * their access chain in the route's company. It is right only while this process hears the database's NOTIFY on
 * the authz channel (drizzle/0009_authz_notify.sql), so it is used only while the listener is known good: after
 * each (re)connection the listener must receive a probe sent through the pool, and again every heartbeat. Until
 * then, and from the moment the connection drops, the cache is empty and every read goes to the database. Behind
 * PgBouncer in transaction mode LISTEN does not hold, the probe never arrives, and the cache stays off.
 */

declare module 'fastify' {
  interface FastifyInstance {
    /** The principal and access-chain cache of this process (stats for tests and operators). */
    authzCache: AuthzCache;
  }
}

type Logger = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };

export type AuthzCacheOptions = {
  db: Db;
  listen: Database['listen'];
  log: Logger;
  /** A backstop: an entry is read again after this long even if no notification came. */
  ttlMs?: number;
  /** Bounds memory: past this many entries the oldest is dropped. */
  maxEntries?: number;
  /** How long a probe may take to come back before the listener is taken for deaf. */
  probeTimeoutMs?: number;
  /** How often a good listener proves itself again (a connection can go silent without closing). */
  heartbeatMs?: number;
};

type Entry = { userId: number; value: unknown; expiresAt: number };

const MAX_RETRY_MS = 60_000;

export function createAuthzCache(options: AuthzCacheOptions) {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const entries = new Map<string, Entry>();
  const counts = { hits: 0, misses: 0, invalidations: 0, listens: 0 };
  // Bumped by every invalidation and every change of the listener's state: a read that began before a bump may
  // carry what the notification was about, so it is not stored (see `set`).
  let generation = 0;
  let usable = false;
  // Each (re)connection is a new session: a probe of an earlier one proves nothing about the current connection.
  let session = 0;
  let failures = 0;
  let warned = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let pending: { token: string; arrived(): void } | undefined;
  const settling = new Map<string, () => void>();
  let unlisten: (() => Promise<void>) | undefined;
  let starting: Promise<void> | undefined;

  function flush() {
    entries.clear();
    generation++;
  }

  function onMessage(payload: string) {
    if (payload.startsWith('settle:')) {
      settling.get(payload)?.();
      return;
    }
    if (payload.startsWith('probe:')) {
      if (pending?.token === payload) pending.arrived();
      return;
    }
    counts.invalidations++;
    const userId = /^[0-9]+$/.test(payload) ? Number(payload) : undefined;
    // 'all' (the company tree changed), or a payload this version does not know: drop everything.
    if (userId === undefined) return flush();
    for (const [key, entry] of entries) if (entry.userId === userId) entries.delete(key);
    generation++;
  }

  function onState(state: ListenState) {
    if (state === 'up') counts.listens++;
    if (state === 'down' && usable) {
      options.log.warn({ channel: AUTHZ_CHANNEL }, 'authorization cache off: the listener lost its connection');
    }
    session++;
    usable = false;
    flush();
    clearTimeout(timer);
    // Down: listen.ts reconnects and says 'up' again; the probe then decides.
    if (state === 'up' && !closed) schedule(0);
  }

  function schedule(ms: number) {
    clearTimeout(timer);
    const current = session;
    timer = setTimeout(() => void check(current), ms);
    timer.unref();
  }

  async function probe(): Promise<boolean> {
    const token = `probe:${randomBytes(9).toString('base64url')}`;
    let timeout: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      pending = { token, arrived: () => resolve(true) };
      timeout = setTimeout(() => resolve(false), probeTimeoutMs);
    });
    try {
      await notifyAuthz(options.db, token);
      return await arrived;
    } catch {
      return false;
    } finally {
      clearTimeout(timeout);
      if (pending?.token === token) pending = undefined;
    }
  }

  async function check(current: number) {
    const heard = await probe();
    if (closed || current !== session) return;
    if (heard) {
      if (!usable) {
        flush();
        usable = true;
        options.log.info({ channel: AUTHZ_CHANNEL }, 'authorization cache on: the listener hears the database');
      }
      failures = 0;
      warned = false;
      return schedule(heartbeatMs);
    }
    usable = false;
    flush();
    if (!warned) {
      options.log.warn(
        { channel: AUTHZ_CHANNEL, probeTimeoutMs },
        'authorization cache off: LISTEN does not receive NOTIFY (a pooler in transaction mode?); every request reads the database',
      );
      warned = true;
    }
    failures++;
    schedule(Math.min(MAX_RETRY_MS, 1_000 * 2 ** failures));
  }

  return {
    /** Starts listening in the background; the cache turns on once a probe has come back. */
    start(): void {
      if (!options.listen || closed || starting) return;
      starting = options.listen(AUTHZ_CHANNEL, onMessage, onState).then(
        (stop) => {
          unlisten = stop;
        },
        (error: unknown) => options.log.warn({ err: error }, 'authorization cache off: LISTEN failed'),
      );
    },

    async close(): Promise<void> {
      closed = true;
      usable = false;
      clearTimeout(timer);
      flush();
      // A start still connecting is waited for, so its connection is closed too.
      await starting;
      await unlisten?.().catch(() => {});
    },

    /**
     * Waits until this process has heard every notification committed before the call: NOTIFYs arrive in commit
     * order, so once a marker sent now comes back, the ones before it have been applied. A request that changed a
     * credential or an access waits for this before answering, so the next request on this node cannot be answered
     * from an entry that change made stale. If the marker does not come back in time, the cache is emptied instead.
     */
    async settle(): Promise<void> {
      if (!usable) return;
      const token = `settle:${randomBytes(9).toString('base64url')}`;
      let timeout: NodeJS.Timeout | undefined;
      const heard = new Promise<boolean>((resolve) => {
        settling.set(token, () => resolve(true));
        timeout = setTimeout(() => resolve(false), probeTimeoutMs);
      });
      try {
        await notifyAuthz(options.db, token);
        if (!(await heard)) flush();
      } catch {
        flush();
      } finally {
        clearTimeout(timeout);
        settling.delete(token);
      }
    },

    /** Taken before a database read whose answer may be stored: `set` refuses it if anything changed meanwhile. */
    ticket: () => generation,

    get<T>(key: string): T | undefined {
      if (!usable) return undefined;
      const entry = entries.get(key);
      if (entry && entry.expiresAt > performance.now()) {
        counts.hits++;
        return entry.value as T;
      }
      if (entry) entries.delete(key);
      counts.misses++;
      return undefined;
    },

    set(ticket: number, key: string, userId: number, value: unknown): void {
      if (!usable || ticket !== generation) return;
      entries.delete(key);
      entries.set(key, { userId, value, expiresAt: performance.now() + ttlMs });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },

    stats: () => ({ enabled: usable, size: entries.size, ...counts }),
  };
}

export type AuthzCache = ReturnType<typeof createAuthzCache>;
