import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { AppointmentJson } from '../appointments/appointments.schemas.ts';
import { CompanyParams } from '../companies/companies.schemas.ts';
import { ImportFileJson } from '../imports/imports.schemas.ts';
import { LeadJson, LeadTombstoneJson, NoteJson } from '../leads/leads.schemas.ts';
import { EVENT_TYPES, type EventType } from '../outbox/event-types.ts';
import { UserAccessJson } from '../user-accesses/user-accesses.schemas.ts';

/** Each event type's `data`: the resource exactly as the API shows it (a deletion: its tombstone). */
const DATA: Record<EventType, { schema: TSchema; what: string }> = {
  'lead.created': {
    schema: LeadJson,
    what:
      'A lead was created (by the API, an import row). `data`: the lead, as the create, update and list answers ' +
      'show it (its GET adds its latest `notes`, which have events of their own).',
  },
  'lead.updated': {
    schema: LeadJson,
    what: 'A lead changed (an edit, an import row merged in, its stage, its assignee). `data`: the lead after it.',
  },
  'lead.assigned': {
    schema: LeadJson,
    what:
      'A lead got an assignee, or another one, or none: at creation when it has one, by a person, by the ' +
      'distribution rules, or when its assignee left the company. `data`: the lead after it.',
  },
  'lead.stage_changed': { schema: LeadJson, what: "A lead's stage changed. `data`: the lead after it." },
  'lead.deleted': { schema: LeadTombstoneJson, what: 'A lead was deleted. `data`: its tombstone.' },
  'note.created': { schema: NoteJson, what: 'A note was added to a lead (the API, an import row). `data`: the note.' },
  'appointment.created': { schema: AppointmentJson, what: 'An appointment was booked. `data`: the appointment.' },
  'appointment.updated': { schema: AppointmentJson, what: 'An appointment changed. `data`: the appointment.' },
  'appointment.canceled': {
    schema: AppointmentJson,
    what: 'An appointment was canceled (by a person, or because its lead was deleted). `data`: the appointment.',
  },
  'import.completed': { schema: ImportFileJson, what: 'An import completed. `data`: the import.' },
  'import.failed': { schema: ImportFileJson, what: 'An import failed. `data`: the import, with `error_message`.' },
  'user_access.created': {
    schema: UserAccessJson,
    what: 'Someone was given an access (granted, an invitation accepted, a company created). `data`: the access.',
  },
  'user_access.deleted': {
    schema: UserAccessJson,
    what: "Someone's access was removed (or they left). `data`: the access as it was.",
  },
  'webhook.ping': {
    schema: Type.Record(Type.String(), Type.Unknown()),
    what: 'A test sent to one webhook (`POST …/webhooks/{webhook_id}/ping`); never on the event stream.',
  },
};

/** `lead.stage_changed` → `LeadStageChangedEvent`: the name of its schema in the OpenAPI document. */
export const eventSchemaId = (type: EventType) =>
  `${type
    .split(/[._]/)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('')}Event`;

/**
 * The body of every event (a webhook delivery's JSON, an SSE event's `data:`), one named schema per type in the
 * OpenAPI document (`components.schemas`), and `Event`, any of them. Registered once on the root instance, where
 * the docs plugin collects shared schemas.
 */
export function registerEventSchemas(app: FastifyInstance): void {
  for (const type of EVENT_TYPES) {
    app.addSchema(
      Type.Object(
        {
          type: Type.Literal(type),
          timestamp: Type.String({ format: 'date-time', description: 'When the change was committed (UTC).' }),
          data: DATA[type].schema,
        },
        { $id: eventSchemaId(type), description: DATA[type].what },
      ),
    );
  }
  app.addSchema({
    $id: 'Event',
    description:
      'An event: the JSON body of a webhook delivery, and the `data:` of an event on the stream. `type` says ' +
      'which; `data` is the resource exactly as the API shows it (its GET) right after the change.',
    oneOf: EVENT_TYPES.map((type) => ({ $ref: `${eventSchemaId(type)}#` })),
    discriminator: { propertyName: 'type' },
  });
}

export const StreamParams = CompanyParams;

export const StreamQuery = Type.Object({
  last_event_id: Type.Optional(
    Type.String({
      maxLength: 64,
      description:
        'Resume after this event (`evt_…`), as the `Last-Event-ID` header does (for clients that cannot set ' +
        'headers); the header wins when both are sent.',
    }),
  ),
  follow: Type.Optional(
    Type.Boolean({
      default: true,
      description:
        '`false`: send the stored events after `Last-Event-ID` and end the response (a catch-up read for batch ' +
        'jobs); `true`: then stay open with new events as they commit.',
    }),
  ),
});

export const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({ maxLength: 64, description: 'The `id` of the last event received (`evt_…`): resume after it.' }),
  ),
});
