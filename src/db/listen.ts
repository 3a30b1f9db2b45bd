import pg from 'pg';

/** 'up': LISTEN is in place (again); 'down': the connection was lost, notifications may have been missed. */
export type ListenState = 'up' | 'down';

export type Listen = (
  channel: string,
  onMessage: (payload: string) => void,
  onState?: (state: ListenState) => void,
) => Promise<() => Promise<void>>;

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * LISTEN on a connection of its own, outside the pool (a pooled connection goes back to other work, and its LISTEN
 * with it). PostgreSQL may restart or the network may drop: the connection is then opened again, with growing
 * pauses, for as long as the process runs, and `onState` says when notifications may have been missed. It never
 * throws at the process: every error of this connection is handled here.
 */
export const listenPostgres =
  (url: string): Listen =>
  async (channel, onMessage, onState) => {
    let closed = false;
    let current: pg.Client | undefined;
    let failures = 0;
    let retry: NodeJS.Timeout | undefined;

    const reconnectLater = () => {
      // Equal jitter, so the nodes of a cluster do not all come back in the same millisecond after a restart.
      const pause = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures);
      failures++;
      retry = setTimeout(() => void connect(), pause / 2 + (Math.random() * pause) / 2);
      retry.unref();
    };

    const connect = async () => {
      if (closed) return;
      // Keepalive: a peer that vanished without closing the socket (a crashed host) is noticed, not awaited forever.
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
      current = client;
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        client.end().catch(() => {});
        if (current === client) current = undefined;
        if (closed) return;
        onState?.('down');
        reconnectLater();
      };
      client.on('error', onLost);
      client.on('end', onLost);
      client.on('notification', (message) => {
        if (message.channel === channel) onMessage(message.payload ?? '');
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      } catch {
        onLost();
        return;
      }
      if (lost || closed) return;
      failures = 0;
      onState?.('up');
    };

    await connect();
    return async () => {
      closed = true;
      clearTimeout(retry);
      await current?.end().catch(() => {});
    };
  };
