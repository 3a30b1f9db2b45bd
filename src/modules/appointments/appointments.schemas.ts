import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { Nullable } from '../../lib/schema.ts';
import type { AppointmentView } from './appointments.repository.ts';

const Id = Type.Integer({ minimum: 1 });
const DateTime = (description: string) => Type.String({ format: 'date-time', description });
const Text = (maxLength: number) => Nullable(Type.String({ maxLength }));

/** The longest appointment accepted; the list's index-friendly range bound relies on it (repository). */
export const MAX_DURATION_MS = 24 * 3_600_000;
/** The widest `from`..`to` window a list accepts. */
export const MAX_RANGE_MS = 366 * 86_400_000;

const STATUSES = ['scheduled', 'canceled'] as const;

export const AppointmentJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    lead: Type.Object({ id: Type.Integer(), full_name: Type.String() }),
    user_access_id: Type.Integer(),
    agent: Type.Object({ user_id: Type.Integer(), full_name: Type.String() }),
    starts_at: Type.String({ format: 'date-time' }),
    ends_at: Type.String({ format: 'date-time' }),
    title: Nullable(Type.String()),
    location: Nullable(Type.String()),
    notes: Nullable(Type.String()),
    status: Type.Enum([...STATUSES]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    canceled_at: Nullable(Type.String({ format: 'date-time' })),
  },
  {
    title: 'Appointment',
    description: 'A meeting with a lead, booked for an agent (a user access of the company).',
    examples: [
      {
        id: 8,
        company_id: 1,
        lead: { id: 101, full_name: 'Ana García' },
        user_access_id: 7,
        agent: { user_id: 5, full_name: 'Luis Pérez' },
        starts_at: '2030-04-02T08:00:00.000Z',
        ends_at: '2030-04-02T08:30:00.000Z',
        title: 'Product demo',
        location: 'Calle Mayor 1, Madrid',
        notes: null,
        status: 'scheduled',
        created_at: '2030-03-24T09:12:00.000Z',
        updated_at: '2030-03-24T09:12:00.000Z',
        canceled_at: null,
      },
    ],
  },
);

export const AppointmentEnvelope = Type.Object({ appointment: AppointmentJson });
export const AppointmentList = Type.Object({ appointments: Type.Array(AppointmentJson), meta: PageMeta });

export const LeadAppointmentParams = Type.Object({ company_id: Id, lead_id: Id });
export const AppointmentParams = Type.Object({ appointment_id: Id });

const editable = {
  title: Type.Optional(Text(200)),
  location: Type.Optional(Text(300)),
  notes: Type.Optional(Text(5000)),
  user_access_id: Type.Optional(Id),
};

export const CreateAppointmentBody = Type.Object(
  {
    starts_at: DateTime('Start, with a time zone offset (stored and returned in UTC).'),
    ends_at: DateTime('End, after `starts_at`, at most 24 hours later.'),
    ...editable,
  },
  {
    title: 'AppointmentCreate',
    additionalProperties: false,
    description:
      '`user_access_id`: the agent, a user access of this company (the example says 1: use one of yours); ' +
      "without it, the lead's assignee.",
    examples: [
      {
        starts_at: '2030-04-02T10:00:00+02:00',
        ends_at: '2030-04-02T10:30:00+02:00',
        title: 'Product demo',
        location: 'Calle Mayor 1, Madrid',
        user_access_id: 1,
      },
    ],
  },
);

export const UpdateAppointmentBody = Type.Object(
  {
    starts_at: Type.Optional(DateTime('New start.')),
    ends_at: Type.Optional(DateTime('New end.')),
    ...editable,
  },
  {
    title: 'AppointmentUpdate',
    additionalProperties: false,
    minProperties: 1,
    description: 'Only the fields to change.',
    examples: [{ starts_at: '2030-04-02T11:00:00+02:00', ends_at: '2030-04-02T11:45:00+02:00' }],
  },
);

export const ListAppointmentsQuery = Type.Object({
  from: Type.Optional(DateTime('Appointments not yet ended at this instant. Default: now.')),
  to: Type.Optional(DateTime('Appointments starting before this instant. At most 366 days after `from`.')),
  status: Type.Optional(Type.Enum([...STATUSES, 'all'], { default: 'scheduled' })),
  ...PageQuery,
});

export const FeedJson = Type.Object(
  {
    url: Type.String({ description: 'The subscription URL for a calendar application; it carries the token.' }),
    token: Type.String({ description: 'Shown once: only its hash is stored.' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  {
    title: 'AppointmentFeed',
    description: 'A secret iCalendar subscription of your appointments.',
    examples: [
      {
        url: 'https://api.example.com/api/v1/appointments.ics?token=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0',
        token: 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0',
        created_at: '2030-03-24T09:12:00.000Z',
      },
    ],
  },
);

export const FeedQuery = Type.Object({
  token: Type.String({ minLength: 20, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
});

export const CalendarResponse = {
  description: 'An iCalendar (RFC 5545) VCALENDAR: one VEVENT per appointment.',
  content: { 'text/calendar': { schema: { type: 'string' } } },
};

export type CreateAppointmentInput = Static<typeof CreateAppointmentBody>;
export type UpdateAppointmentInput = Static<typeof UpdateAppointmentBody>;
export type ListAppointmentsInput = Static<typeof ListAppointmentsQuery>;

export const fullName = (first: string | null, last: string | null) => [first, last].filter(Boolean).join(' ');

/** A lead without a name is still someone: fall back to how it is reached. */
export const leadLabel = (lead: AppointmentView['lead']) =>
  fullName(lead.firstName, lead.lastName) || lead.email || lead.phone || `Lead ${lead.id}`;

export function presentAppointment(view: AppointmentView) {
  const { appointment: a } = view;
  return {
    id: a.id,
    company_id: a.companyId,
    lead: { id: view.lead.id, full_name: fullName(view.lead.firstName, view.lead.lastName) },
    user_access_id: a.userAccessId,
    agent: { user_id: view.agent.userId, full_name: fullName(view.agent.firstName, view.agent.lastName) },
    starts_at: a.startsAt.toISOString(),
    ends_at: a.endsAt.toISOString(),
    title: a.title,
    location: a.location,
    notes: a.notes,
    status: a.status,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    canceled_at: a.canceledAt?.toISOString() ?? null,
  };
}
