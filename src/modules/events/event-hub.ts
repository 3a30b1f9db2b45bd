import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Db } from '../../db/client.ts';
import type { Listen, ListenState } from '../../db/listen.ts';
import type { JobLogger } from '../../jobs/runner.ts';
import { publishWakesAfterCommit } from '../outbox/event-wakes.ts';
import { EVENTS_CHANNEL } from '../outbox/outbox.repository.ts';
import { notifyEvents } from './events.repository.ts';

/** How long a probe NOTIFY may take to come back before the listener is taken for deaf. */
const PROBE_TIMEOUT_MS = 5_000;
/** While the listener is down or deaf, how often every stream reads the outbox anyway. */
const POLL_MS = 1_000;
/** How often a deaf listener is tried again (a pooler in transaction mode stays deaf; a restart heals). */
const REPROBE_MS = 30_000;

export type Wake = () => void;

/**
 * Wakes this process's event streams when their company's events commit, on whichever node committed them: the
 * outbox append sends NOTIFY on `leadsy_events` (payload: the company id), delivered at commit. A wake-up carries
 * nothing: a stream always reads the outbox after the last seq it sent, so a wake-up lost, doubled or early costs
 * latency at most, never an event or the order. The listener (one connection outside the pool) opens with the
 * first stream. While it is down, or deaf (behind a pooler in transaction mode LISTEN hears nothing: a probe sent
 * through the pool does not come back), every stream polls the outbox each second instead.
 *
 * With REDIS_URL, Redis pub/sub carries the wake-ups instead (`<REDIS_KEY_PREFIX>events`): every process publishes
 * its transactions' companies after they commit (outbox/event-wakes.ts), and a subscriber connection opens with the first
 * stream — no LISTEN connection, and it works behind PgBouncer. While Redis is away streams poll, as above.
 */
export function createEventHub(deps: {
  db: Db;
  listen: Listen | undefined;
  log: JobLogger;
  redis?: { url: string; prefix: string } | undefined;
}) {
  const streams = new Map<number, Set<Wake>>();
  const closers = new Set<() => void>();
  let live = false;
  let closed = false;
  let starting: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let probeToken: string | undefined;
  let probeArrived: (() => void) | undefined;
  let poller: NodeJS.Timeout | undefined;
  let reprobe: NodeJS.Timeout | undefined;

  const wakeAll = () => {
    for (const set of streams.values()) for (const wake of set) wake();
  };

  function setLive(value: boolean) {
    live = value;
    clearInterval(poller);
    poller = undefined;
    if (!live && !closed) {
      poller = setInterval(wakeAll, POLL_MS);
      poller.unref();
    }
    // Whatever happened while the listener was away is read now.
    wakeAll();
  }

  function onMessage(payload: string) {
    if (payload === probeToken) {
      probeArrived?.();
      return;
    }
    const companyId = Number(payload);
    for (const wake of streams.get(companyId) ?? []) wake();
  }

  async function probe() {
    const token = `probe:${randomBytes(9).toString('base64url')}`;
    probeToken = token;
    let timeout: NodeJS.Timeout | undefined;
    const heard = await new Promise<boolean>((resolve) => {
      probeArrived = () => resolve(true);
      timeout = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
      notifyEvents(deps.db, token).catch(() => resolve(false));
    });
    clearTimeout(timeout);
    if (closed || probeToken !== token) return;
    setLive(heard);
    if (!heard) {
      deps.log.warn(
        { channel: EVENTS_CHANNEL },
        'event streams poll the outbox each second: LISTEN does not receive NOTIFY',
      );
      reprobe = setTimeout(() => void probe(), REPROBE_MS);
      reprobe.unref();
    }
  }

  function onState(state: ListenState) {
    clearTimeout(reprobe);
    if (state === 'down') {
      probeToken = undefined;
      setLive(false);
    } else void probe();
  }

  // Redis: one connection publishes (opened with the first commit that has events), another subscribes.
  const channel = deps.redis ? `${deps.redis.prefix}events` : '';
  let publisher: Redis | undefined;
  let subscriber: Redis | undefined;
  const redisOptions = {
    // A wake-up is worth nothing late: never queued while Redis is away (streams poll meanwhile).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(times * 100, 2_000),
  };
  const uninstall =
    deps.redis &&
    publishWakesAfterCommit(deps.db, channel, (companyIds) => {
      if (closed) return;
      if (!publisher) {
        publisher = new Redis(deps.redis!.url, redisOptions);
        // Redis away: the wake-up is lost, and streams elsewhere notice no later than their next heartbeat.
        publisher.on('error', () => {});
      }
      for (const id of companyIds) publisher.publish(channel, String(id)).catch(() => {});
    });

  function subscribe() {
    const client = new Redis(deps.redis!.url, { ...redisOptions, enableOfflineQueue: true });
    subscriber = client;
    client.on('error', () => {});
    client.on('message', (_channel: string, message: string) => onMessage(message));
    client.on('ready', () => {
      client.subscribe(channel).then(
        () => setLive(true),
        () => setLive(false),
      );
    });
    client.on('close', () => {
      if (!closed) setLive(false);
    });
  }

  function start() {
    if (starting || closed) return;
    setLive(false);
    if (deps.redis) {
      starting = Promise.resolve();
      subscribe();
      return;
    }
    if (!deps.listen) return;
    starting = deps.listen(EVENTS_CHANNEL, onMessage, onState).then(
      (stop) => {
        unlisten = stop;
      },
      (error: unknown) => deps.log.warn({ err: error }, 'event streams poll the outbox: LISTEN failed'),
    );
  }

  return {
    /** Registers a stream of the company: `wake` runs when its events may have changed; answers the unsubscribe. */
    subscribe(companyId: number, wake: Wake, close: () => void): () => void {
      // A stream that got past the draining check as the process began to stop ends at once.
      if (closed) {
        close();
        return () => {};
      }
      start();
      const set = streams.get(companyId) ?? new Set<Wake>();
      set.add(wake);
      streams.set(companyId, set);
      closers.add(close);
      return () => {
        set.delete(wake);
        if (set.size === 0) streams.delete(companyId);
        closers.delete(close);
      };
    },

    /** Whether notifications arrive (false: streams poll). */
    get live() {
      return live;
    },

    get open() {
      return closers.size;
    },

    /** Shutdown: ends every open stream at once (a client reconnects elsewhere with Last-Event-ID) and stops listening. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(poller);
      clearTimeout(reprobe);
      for (const close of [...closers]) close();
      uninstall?.();
      await starting;
      await unlisten?.().catch(() => {});
      subscriber?.disconnect();
      publisher?.disconnect();
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
