import type { Db } from '../../db/client.ts';
import { fieldError, invalid } from '../../lib/errors.ts';
import type { EffectiveAccess } from '../../lib/permissions.ts';
import { leadScope } from '../authz/authz.policies.ts';
import { parseEventId } from '../outbox/event-json.ts';
import type { EventHub } from './event-hub.ts';
import { eventsAfter, findEventSeq, lastSeq } from './events.repository.ts';

/** Events read from the outbox at a time: the most a slow stream holds in memory beyond its socket's buffer. */
export const STREAM_PAGE = 100;

const unknownEvent = (field: string) =>
  invalid([
    fieldError(
      field,
      'unknown_event',
      'is not an event of this company (malformed, another company’s, or older than the retention period): ' +
        'reconnect without it and resync from the lead list (updated_since)',
    ),
  ]);

/** The event stream: where a reader starts, what it may see, and its pages of the outbox. */
export function createEventsService(deps: { db: Db; hub: EventHub }) {
  const { db } = deps;
  return {
    hub: deps.hub,

    /**
     * The seq a stream starts after: the event a `Last-Event-ID` names (it must be this company's, 422 otherwise:
     * resuming from a guess would skip or repeat events silently), else the company's newest (live only).
     */
    async startAfter(companyId: number, lastEventId: { value: string; field: string } | undefined): Promise<number> {
      if (lastEventId === undefined) return lastSeq(db, companyId);
      const id = parseEventId(lastEventId.value);
      const seq = id === undefined ? undefined : await findEventSeq(db, companyId, id);
      if (seq === undefined) throw unknownEvent(lastEventId.field);
      return seq;
    },

    /**
     * Whose events a reader sees: admins and managers all of the company's; an agent only those about the leads
     * (and appointments) of their own user access — the agent's lead scope (authz.policies.ts leadScope).
     */
    ownerOf: (access: EffectiveAccess) => leadScope(access).ownerId,

    page: (companyId: number, afterSeq: number, ownerId: number | undefined) =>
      eventsAfter(db, companyId, afterSeq, STREAM_PAGE, ownerId),
  };
}

export type EventsService = ReturnType<typeof createEventsService>;
