import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { JobLogger } from '../../jobs/runner.ts';
import { accessOf } from '../../plugins/auth.ts';
import { streamEvents } from './event-stream.ts';
import { StreamHeaders, StreamParams, StreamQuery } from './events.schemas.ts';
import type { EventsService } from './events.service.ts';

const DESCRIPTION = `Server-Sent Events (\`text/event-stream\`): the company's events as they commit, the same as webhook
deliveries. Each event is \`id: evt_…\`, \`event: <type>\` and one \`data:\` line holding the webhook body
\`{"type","timestamp","data"}\` (schema \`Event\`; \`data\` is the resource exactly as its GET shows it right after the
change). Without \`Last-Event-ID\` the stream starts with the next event; with it (the header, or \`last_event_id\`) it
first replays every stored event after that one, in order, then goes on live: reconnecting with the last id received
loses and repeats nothing. A \`Last-Event-ID\` that is not one of this company's events (malformed, another company's,
or older than the retention period) is a 422 naming it: resync from the lead list's \`updated_since\` instead.

What each change emits: a new lead \`lead.created\` (and \`lead.assigned\` when it got an assignee); any change to a lead
one \`lead.updated\`, plus \`lead.stage_changed\` if its stage changed and \`lead.assigned\` if its assignee did (an
update changing both emits all three, in that order, each with the lead after the whole change); a deletion
\`lead.deleted\` (the tombstone) and \`appointment.canceled\` for each upcoming appointment it canceled. Removing an access
emits its leads' reassignments, then \`user_access.deleted\`.

Admins and managers see every event of the company. Agents see only the events about their own leads (lead, note and
appointment events whose lead is assigned to them after the change, and their own appointments); imports and accesses
name other people, so agents never see them. \`webhook.ping\` is never on the stream. A comment line (\`: heartbeat\`)
comes every EVENT_STREAM_HEARTBEAT_MS (15 s) so proxies keep the connection; at each one the caller is authorized
again, so a revoked or expired token, a revoked key or a removed access ends the stream, and an access changed to
agent narrows it. The stream also ends when the server stops
(reconnect with \`Last-Event-ID\`, to any node: a change committed on one API process reaches streams on all of them,
woken by PostgreSQL NOTIFY, or by Redis pub/sub with REDIS_URL).`;

export const eventsRoutes: FastifyPluginAsyncTypebox<{
  service: EventsService;
  heartbeatMs: number;
  log: JobLogger;
}> = async (app, { service, heartbeatMs, log }) => {
  app.get(
    '/api/v1/companies/:company_id/events',
    {
      config: { policy: { permission: 'events:read' } },
      schema: {
        operationId: 'streamCompanyEvents',
        tags: ['Events'],
        summary: "A live stream of the company's events (Server-Sent Events)",
        description: DESCRIPTION,
        params: StreamParams,
        querystring: StreamQuery,
        headers: StreamHeaders,
        response: {
          200: {
            description: 'An event stream: `id: evt_…`, `event: <type>`, `data: <Event JSON>`, a blank line.',
            content: { 'text/event-stream': { schema: { $ref: 'Event#' } } },
          },
        },
      },
    },
    async (request, reply) => {
      const access = accessOf(request);
      const header = request.headers['last-event-id'];
      const resume =
        header !== undefined
          ? { value: header, field: 'Last-Event-ID' }
          : request.query.last_event_id !== undefined
            ? { value: request.query.last_event_id, field: 'last_event_id' }
            : undefined;
      // Checked before the response starts, so a bad id is an ordinary problem+json answer.
      const afterSeq = await service.startAfter(access.companyId, resume);
      reply.hijack();
      // The headers hooks set so far (request id, rate limits, CORS, security) go out with the stream's own.
      const headers = Object.entries(reply.getHeaders()).filter(
        (entry): entry is [string, string | number | string[]] => entry[1] !== undefined,
      );
      reply.raw.writeHead(200, {
        ...Object.fromEntries(headers),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and similar proxies would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      });
      reply.raw.write(': connected\n\n');
      await streamEvents(reply.raw, service, {
        companyId: access.companyId,
        afterSeq,
        ownerId: service.ownerOf(access),
        follow: request.query.follow ?? true,
        heartbeatMs,
        reauthorize: async () =>
          (await app.authorizeAgain(request)) ? { ownerId: service.ownerOf(accessOf(request)) } : false,
        log,
      });
    },
  );
};
