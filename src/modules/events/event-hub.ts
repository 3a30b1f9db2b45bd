import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import type { Listen, ListenState } from '../../db/listen.ts';
import type { JobLogger } from '../../jobs/runner.ts';
import { EVENTS_CHANNEL, notifyEvents } from './events.repository.ts';

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
 */
export function createEventHub(deps: { db: Db; listen: Listen | undefined; log: JobLogger }) {
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

  function start() {
    if (starting || closed) return;
    setLive(false);
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
      await starting;
      await unlisten?.().catch(() => {});
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
