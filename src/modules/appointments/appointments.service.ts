import type { Db, Executor } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { conflict, fieldError, forbidden, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { Actor, EffectiveAccess } from '../../lib/permissions.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import { leadScope, managesLeads as manages, mayHandleAppointment } from '../authz/authz.policies.ts';
import type { EventType } from '../outbox/event-types.ts';
import { appendEvents } from '../outbox/outbox.repository.ts';
import { renderCalendar } from './appointments.calendar.ts';
import {
  type AppointmentRow,
  countActiveFeeds,
  countForUser,
  feedAppointments,
  findCompanyOf,
  findFeedOwner,
  findView,
  findVisibleLead,
  insertAppointment,
  insertFeed,
  isBookable,
  listForUser,
  lockAppointment,
  revokeFeeds,
  type UserWindow,
  updateAppointment,
} from './appointments.repository.ts';
import {
  type CreateAppointmentInput,
  fullName,
  type ListAppointmentsInput,
  MAX_DURATION_MS,
  MAX_RANGE_MS,
  presentAppointment,
  type UpdateAppointmentInput,
} from './appointments.schemas.ts';

/** A feed shows the last 30 days and what comes next, at most this many events. */
const FEED_PAST_MS = 30 * 86_400_000;
const FEED_MAX_EVENTS = 1000;
/** Live feed tokens per user: enough for every device, few enough that tokens cannot pile up unnoticed. */
const MAX_FEEDS = 10;

/** Admins and managers handle every appointment of the company; agents only those of their own user access. */
const sees = (access: EffectiveAccess, row: AppointmentRow) => mayHandleAppointment(access, row);

const notBookable = () =>
  invalid([fieldError('user_access_id', 'not_found', 'is not an active member of this company')]);

// Double booking is refused by the exclusion constraint appointments_no_overlap (migration 0003), under any
// concurrency; the error plugin's constraint table answers it (422 appointment_overlap).
function assertRange(startsAt: Date, endsAt: Date) {
  if (endsAt <= startsAt) throw invalid([fieldError('ends_at', 'before_start', 'must be after starts_at')]);
  if (endsAt.getTime() - startsAt.getTime() > MAX_DURATION_MS) {
    throw invalid([fieldError('ends_at', 'too_long', 'an appointment lasts at most 24 hours')]);
  }
}

const text = (value: string | null | undefined) => (value == null ? value : value.trim() || null);

export function createAppointmentsService(deps: { db: Db; clock: Clock; publicUrl: string }) {
  const { db, clock } = deps;

  async function view(tx: Executor, companyId: number, id: number) {
    const found = await findView(tx, companyId, id);
    if (!found) throw notFound('Appointment');
    return found;
  }

  /**
   * The appointment as its GET shows it after the change, with its event as the transaction's last write. The
   * event's assignee is the user access it is booked for: an agent's stream shows their own appointments.
   */
  async function announced(tx: Executor, companyId: number, id: number, type: EventType | undefined) {
    const found = await view(tx, companyId, id);
    if (type) {
      await appendEvents(tx, companyId, [
        {
          type,
          data: presentAppointment(found),
          leadId: found.appointment.leadId,
          assigneeUserAccessId: found.appointment.userAccessId,
        },
      ]);
    }
    return found;
  }

  /** Who the appointment is for: the given user access (agents: only themselves), else the lead's assignee. */
  async function bookedFor(actor: Actor, assignee: number | null, requested: number | undefined) {
    const { access } = actor;
    if (requested !== undefined && !manages(access) && requested !== access.userAccessId) {
      throw forbidden('Agents book appointments for themselves only.');
    }
    const userAccessId = requested ?? assignee;
    if (userAccessId === null) {
      throw unprocessable('no_assignee', 'The lead has no assignee: name a user_access_id.', 'user_access_id');
    }
    if (!(await isBookable(db, access.companyId, userAccessId))) throw notBookable();
    return userAccessId;
  }

  return {
    /** For the route policy: the company whose accesses decide who may see the appointment. */
    companyOf: (id: number) => findCompanyOf(db, id),

    async book(actor: Actor, leadId: number, input: CreateAppointmentInput) {
      const lead = await findVisibleLead(db, leadScope(actor.access), leadId);
      if (!lead) throw notFound('Lead');
      const startsAt = new Date(input.starts_at);
      const endsAt = new Date(input.ends_at);
      assertRange(startsAt, endsAt);
      const userAccessId = await bookedFor(actor, lead.assignedUserAccessId, input.user_access_id);
      return db.transaction(async (tx) => {
        const row = await insertAppointment(tx, {
          companyId: lead.companyId,
          leadId: lead.id,
          userAccessId,
          startsAt,
          endsAt,
          title: text(input.title),
          location: text(input.location),
          notes: text(input.notes),
          createdByUserId: actor.userId,
        });
        return announced(tx, row.companyId, row.id, 'appointment.created');
      });
    },

    async show(access: EffectiveAccess, id: number) {
      const found = await view(db, access.companyId, id);
      if (!sees(access, found.appointment)) throw notFound('Appointment');
      return found;
    },

    async update(actor: Actor, id: number, input: UpdateAppointmentInput) {
      const { access } = actor;
      return db.transaction(async (tx) => {
        const current = await lockAppointment(tx, access.companyId, id);
        if (!current || !sees(access, current)) throw notFound('Appointment');
        if (current.status === 'canceled') {
          throw conflict('appointment_canceled', 'A canceled appointment cannot be changed; book a new one.');
        }
        const reassigned = input.user_access_id !== undefined && input.user_access_id !== current.userAccessId;
        if (reassigned && !manages(access)) throw forbidden('Only admins and managers reassign appointments.');
        if (reassigned && !(await isBookable(tx, access.companyId, input.user_access_id!))) throw notBookable();
        const startsAt = input.starts_at ? new Date(input.starts_at) : current.startsAt;
        const endsAt = input.ends_at ? new Date(input.ends_at) : current.endsAt;
        assertRange(startsAt, endsAt);
        const values = {
          startsAt,
          endsAt,
          title: text(input.title),
          location: text(input.location),
          notes: text(input.notes),
          userAccessId: input.user_access_id,
        };
        await updateAppointment(tx, access.companyId, id, { ...values, updatedAt: clock.now() });
        // The same values sent again change nothing worth an event.
        const changed =
          startsAt.getTime() !== current.startsAt.getTime() ||
          endsAt.getTime() !== current.endsAt.getTime() ||
          (['title', 'location', 'notes', 'userAccessId'] as const).some(
            (key) => values[key] !== undefined && values[key] !== current[key],
          );
        return announced(tx, access.companyId, id, changed ? 'appointment.updated' : undefined);
      });
    },

    /** Idempotent: canceling a canceled appointment answers it unchanged. The slot is free again at once. */
    async cancel(actor: Actor, id: number) {
      const { access } = actor;
      return db.transaction(async (tx) => {
        const current = await lockAppointment(tx, access.companyId, id);
        if (!current || !sees(access, current)) throw notFound('Appointment');
        const canceling = current.status === 'scheduled';
        if (canceling) {
          const now = clock.now();
          await updateAppointment(tx, access.companyId, id, { status: 'canceled', canceledAt: now, updatedAt: now });
        }
        return announced(tx, access.companyId, id, canceling ? 'appointment.canceled' : undefined);
      });
    },

    async listMine(userId: number, query: ListAppointmentsInput) {
      const from = query.from ? new Date(query.from) : clock.now();
      const to = query.to ? new Date(query.to) : undefined;
      if (to && to < from) throw invalid([fieldError('to', 'before_from', 'must not be before from')]);
      if (to && to.getTime() - from.getTime() > MAX_RANGE_MS) {
        throw invalid([fieldError('to', 'range_too_wide', 'must be at most 366 days after from')]);
      }
      const window: UserWindow = {
        userId,
        from,
        to,
        status: query.status ?? 'scheduled',
        startsAfter: new Date(from.getTime() - MAX_DURATION_MS),
      };
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['timestamp', 'id']);
      const rows = await listForUser(db, window, after, limit);
      const total = query.count ? await countForUser(db, window) : undefined;
      return toPage(rows, limit, (row) => [row.startsCursor, row.appointment.id], total);
    },

    /** A new secret feed URL. The token is returned once; only its hash is kept. */
    async createFeed(userId: number) {
      if ((await countActiveFeeds(db, userId)) >= MAX_FEEDS) {
        throw unprocessable('too_many_feeds', `At most ${MAX_FEEDS} live calendar feeds: revoke them first.`);
      }
      const token = randomToken();
      const row = await insertFeed(db, userId, sha256(token), clock.now());
      const url = `${deps.publicUrl}/api/v1/appointments.ics?token=${token}`;
      return { url, token, created_at: row.createdAt.toISOString() };
    },

    revokeFeeds: (userId: number) => revokeFeeds(db, userId, clock.now()),

    /** The iCalendar text of the feed the token opens; unknown, revoked and deactivated users' tokens: 404. */
    async calendar(token: string): Promise<string> {
      const owner = await findFeedOwner(db, sha256(token));
      if (!owner) throw notFound('Calendar feed');
      const since = new Date(clock.now().getTime() - FEED_PAST_MS);
      const views = await feedAppointments(db, owner.userId, since, FEED_MAX_EVENTS);
      return renderCalendar(fullName(owner.firstName, owner.lastName), views);
    },
  };
}

export type AppointmentsService = ReturnType<typeof createAppointmentsService>;
