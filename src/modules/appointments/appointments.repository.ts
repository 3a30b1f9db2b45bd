import { and, asc, eq, gt, gte, inArray, isNull, lt, ne, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { cursorTimestamp } from '../../db/cursor.ts';
import { appointments, calendarFeeds, companies, leads, userAccesses, users } from '../../db/schema/index.ts';
import type { LeadScope } from '../authz/authz.policies.ts';
import { leadOwnerCondition } from '../authz/authz.repository.ts';

export type AppointmentRow = typeof appointments.$inferSelect;
export type NewAppointment = typeof appointments.$inferInsert;

/** Appointments with what their JSON shows (lead name, agent name), in one query. */
function selectViews(db: Executor) {
  return db
    .select({
      appointment: appointments,
      lead: {
        id: leads.id,
        firstName: leads.firstName,
        lastName: leads.lastName,
        email: leads.email,
        phone: leads.phone,
      },
      agent: { userId: users.id, firstName: users.firstName, lastName: users.lastName },
      companyName: companies.name,
      startsCursor: cursorTimestamp(appointments.startsAt),
    })
    .from(appointments)
    .innerJoin(leads, eq(leads.id, appointments.leadId))
    .innerJoin(userAccesses, eq(userAccesses.id, appointments.userAccessId))
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .innerJoin(companies, eq(companies.id, appointments.companyId));
}

export type AppointmentView = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];

export async function findCompanyOf(db: Executor, id: number): Promise<number | undefined> {
  const [row] = await db
    .select({ companyId: appointments.companyId })
    .from(appointments)
    .where(eq(appointments.id, id));
  return row?.companyId;
}

export async function findView(db: Executor, companyId: number, id: number): Promise<AppointmentView | undefined> {
  const [row] = await selectViews(db).where(and(eq(appointments.companyId, companyId), eq(appointments.id, id)));
  return row;
}

/** The lead, if the scope sees it (the leads module's own rule: agents see their assigned leads only). */
export async function findVisibleLead(db: Executor, scope: LeadScope, leadId: number) {
  const [row] = await db
    .select({ id: leads.id, companyId: leads.companyId, assignedUserAccessId: leads.assignedUserAccessId })
    .from(leads)
    .where(
      and(
        eq(leads.companyId, scope.companyId),
        isNull(leads.deletedAt),
        scope.ownerId === undefined ? undefined : leadOwnerCondition(scope.ownerId),
        eq(leads.id, leadId),
      ),
    );
  return row;
}

/** Whether the user access belongs to the company and its user is not deactivated. */
export async function isBookable(db: Executor, companyId: number, userAccessId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: userAccesses.id })
    .from(userAccesses)
    .innerJoin(users, eq(users.id, userAccesses.userId))
    .where(and(eq(userAccesses.id, userAccessId), eq(userAccesses.companyId, companyId), ne(users.status, 'inactive')));
  return row !== undefined;
}

export async function insertAppointment(db: Executor, values: NewAppointment): Promise<AppointmentRow> {
  const [row] = await db.insert(appointments).values(values).returning();
  return row!;
}

export async function lockAppointment(db: Executor, companyId: number, id: number) {
  const [row] = await db
    .select()
    .from(appointments)
    .where(and(eq(appointments.companyId, companyId), eq(appointments.id, id)))
    .for('update');
  return row;
}

export async function updateAppointment(db: Executor, companyId: number, id: number, values: Partial<NewAppointment>) {
  await db
    .update(appointments)
    .set(values)
    .where(and(eq(appointments.companyId, companyId), eq(appointments.id, id)));
}

/** The user's appointments, across every company where they hold a user access. */
export type UserWindow = {
  userId: number;
  from: Date;
  to: Date | undefined;
  status: 'scheduled' | 'canceled' | 'all';
  /** Lower bound on starts_at that the index can range over: no appointment lasts longer than the maximum. */
  startsAfter: Date;
};

function windowConditions(window: UserWindow): SQL {
  return and(
    inArray(
      appointments.userAccessId,
      sql`(select ${userAccesses.id} from ${userAccesses} where ${userAccesses.userId} = ${window.userId})`,
    ),
    window.status === 'all' ? undefined : eq(appointments.status, window.status),
    gt(appointments.endsAt, window.from),
    gt(appointments.startsAt, window.startsAfter),
    window.to ? lt(appointments.startsAt, window.to) : undefined,
  )!;
}

/** One keyset page ordered by (starts_at, id); `after` is the previous page's last [starts_at (ISO 8601 UTC, microseconds), id]. */
export async function listForUser(
  db: Executor,
  window: UserWindow,
  after: [string, number] | undefined,
  limit: number,
) {
  const keyset = after
    ? sql`(${appointments.startsAt}, ${appointments.id}) > (${after[0]}::timestamptz, ${after[1]})`
    : undefined;
  return selectViews(db)
    .where(and(windowConditions(window), keyset))
    .orderBy(asc(appointments.startsAt), asc(appointments.id))
    .limit(limit + 1);
}

export async function countForUser(db: Executor, window: UserWindow): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(appointments).where(windowConditions(window));
  return Number(row?.n ?? 0);
}

/** A feed's calendar: scheduled appointments since `since`, and those canceled since then (so apps drop them). */
export async function feedAppointments(db: Executor, userId: number, since: Date, limit: number) {
  return selectViews(db)
    .where(
      and(
        eq(userAccesses.userId, userId),
        gte(appointments.startsAt, since),
        or(eq(appointments.status, 'scheduled'), gte(appointments.canceledAt, since)),
      ),
    )
    .orderBy(asc(appointments.startsAt), asc(appointments.id))
    .limit(limit);
}

export async function insertFeed(db: Executor, userId: number, tokenHash: string, createdAt: Date) {
  const [row] = await db.insert(calendarFeeds).values({ userId, tokenHash, createdAt }).returning();
  return row!;
}

export async function countActiveFeeds(db: Executor, userId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(calendarFeeds)
    .where(and(eq(calendarFeeds.userId, userId), isNull(calendarFeeds.revokedAt)));
  return Number(row?.n ?? 0);
}

export async function revokeFeeds(db: Executor, userId: number, at: Date) {
  await db
    .update(calendarFeeds)
    .set({ revokedAt: at })
    .where(and(eq(calendarFeeds.userId, userId), isNull(calendarFeeds.revokedAt)));
}

/** The owner of a live feed token; revoked tokens and deactivated users find nobody. */
export async function findFeedOwner(db: Executor, tokenHash: string) {
  const [row] = await db
    .select({ userId: users.id, firstName: users.firstName, lastName: users.lastName })
    .from(calendarFeeds)
    .innerJoin(users, eq(users.id, calendarFeeds.userId))
    .where(and(eq(calendarFeeds.tokenHash, tokenHash), isNull(calendarFeeds.revokedAt), ne(users.status, 'inactive')));
  return row;
}
