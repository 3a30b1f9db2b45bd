import type { ServerResponse } from 'node:http';
import type { JobLogger } from '../../jobs/runner.ts';
import { eventBody, publicEventId } from '../outbox/event-json.ts';
import { type EventsService, STREAM_PAGE } from './events.service.ts';

/** One Server-Sent Event: `id`, `event` and one `data` line (JSON never holds a raw newline). */
function frame(row: { id: number; type: string; createdAt: Date; data: Record<string, unknown> | null }): string {
  return `id: ${publicEventId(row)}\nevent: ${row.type}\ndata: ${eventBody(row)}\n\n`;
}

export type StreamOptions = {
  companyId: number;
  /** The seq already sent (Last-Event-ID's, or the company's newest when the stream opened). */
  afterSeq: number;
  /** An agent's user access: only their leads' events. */
  ownerId: number | undefined;
  /** false: send what is stored after `afterSeq`, then end (a catch-up read). */
  follow: boolean;
  heartbeatMs: number;
  /**
   * Asked at every heartbeat: may the caller still read the stream, and whose events (the owner, as `ownerId`)?
   * False ends it: a revoked token, an expired one, or an access removed or narrowed does not keep a stream going.
   */
  reauthorize: () => Promise<{ ownerId: number | undefined } | false>;
  log: JobLogger;
};

/**
 * Writes a company's events to an open `text/event-stream` response until the client leaves, the process stops, or
 * (follow=false) the outbox has been read to its end. Every read starts after the last seq sent, so events come
 * once each and in commit order whatever wakes the stream (a NOTIFY, the heartbeat, the hub's polling). A slow
 * client is never buffered for: after a page is written the stream waits for the socket to drain before it reads
 * on, so at most one page waits in memory beyond the socket's own buffer.
 */
export async function streamEvents(res: ServerResponse, service: EventsService, options: StreamOptions) {
  let cursor = options.afterSeq;
  let ownerId = options.ownerId;
  let checking = false;
  let pending = true;
  let ended = false;
  let poke: (() => void) | undefined;
  const resume = () => {
    const next = poke;
    poke = undefined;
    next?.();
  };
  const pause = () => new Promise<void>((resolve) => (poke = resolve));
  const wake = () => {
    pending = true;
    resume();
  };
  const end = () => {
    if (ended) return;
    ended = true;
    resume();
    // A client that stopped reading would hold the process's shutdown on its full buffer: cut it instead.
    if (res.writableNeedDrain) res.destroy();
    else res.end();
  };
  res.on('close', end);
  res.on('drain', resume);
  const unsubscribe = service.hub.subscribe(options.companyId, wake, end);
  const heartbeat = setInterval(() => {
    // A comment line keeps proxies from timing the connection out; skipped while the socket is still full.
    if (!ended && !res.writableNeedDrain) res.write(': heartbeat\n\n');
    // Also a safety read: a wake-up lost on the way costs at most one heartbeat of latency.
    wake();
    if (checking || ended) return;
    checking = true;
    options.reauthorize().then(
      (allowed) => {
        checking = false;
        if (allowed === false) end();
        else ownerId = allowed.ownerId;
      },
      (error: unknown) => {
        // The database is away: the next outbox read fails too and ends the stream.
        checking = false;
        options.log.warn({ err: error }, 'event stream: the caller could not be authorized again');
      },
    );
  }, options.heartbeatMs);
  heartbeat.unref();
  try {
    while (!ended) {
      if (!pending) {
        await pause();
        continue;
      }
      pending = false;
      for (;;) {
        const rows = await service.page(options.companyId, cursor, ownerId);
        if (ended) break;
        const text = rows
          .filter((row) => row.visible)
          .map(frame)
          .join('');
        if (text) res.write(text);
        if (rows.length > 0) cursor = rows.at(-1)!.seq;
        while (res.writableNeedDrain && !ended) await pause();
        if (ended || rows.length < STREAM_PAGE) break;
      }
      if (!options.follow) end();
    }
  } catch (error) {
    // The database went away mid-stream: the client reconnects (to this node or another) with its Last-Event-ID.
    options.log.warn({ err: error, companyId: options.companyId }, 'event stream ended: reading the outbox failed');
    end();
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
  }
}
