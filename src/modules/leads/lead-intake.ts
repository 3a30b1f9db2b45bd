import type { Executor } from '../../db/client.ts';
import { findView as findAppointmentView } from '../appointments/appointments.repository.ts';
import { presentAppointment } from '../appointments/appointments.schemas.ts';
import { type Assignment, assignmentActivity, createAssigner } from '../distribution/distribution.service.ts';
import { appendEvents, type NewEvent } from '../outbox/outbox.repository.ts';
import {
  type ActivityKind,
  answersOf,
  cancelUpcomingAppointments,
  deleteAnswers,
  findLeadViews,
  insertActivities,
  insertAnswerRows,
  insertLead,
  insertLeadRecords,
  type LeadBatch,
  type LeadRecord,
  type LeadRow,
  type LeadView,
  lockClosedLeadsOf,
  lockOpenLeadsOf,
  type NewLead,
  setAssignee,
  softDeleteLeadRow,
  updateLeadRow,
  upsertAnswers,
} from './leads.repository.ts';
import { presentLead, presentTombstone } from './leads.schemas.ts';

/**
 * The lead intake: the one way leads, their answers and their activities are written — by the API, an import,
 * redistribution and notes alike — so every change to a lead leaves the same trace in its timeline (and, with the
 * integrations, the same event). Each function runs in the caller's transaction, after the caller took its locks in
 * the order of src/db/locks.ts; SQL stays in leads.repository.ts, the only file that writes these tables.
 *
 * Events (API.md "Integrations"): every function records the events its change implies in the caller's
 * `Announcements`, and the caller calls `announce` as the last write of its transaction (the event counter is the
 * last lock, src/db/locks.ts step 5). What a change emits follows its timeline activities:
 * - a new lead: `lead.created`, and `lead.assigned` when it got an assignee (by a person or the rules);
 * - any change to an existing lead: one `lead.updated`, plus `lead.stage_changed` when its stage changed and
 *   `lead.assigned` when its assignee changed (a mirror subscribes to created/updated/deleted, an automation to
 *   the one it reacts to);
 * - a deletion: `lead.deleted` with the tombstone, and `appointment.canceled` for each appointment it canceled.
 * Every lead event carries the lead as its GET shows it after the whole transaction's change, rendered for all the
 * transaction's leads in one query.
 */

export type LeadEventType = 'lead.created' | 'lead.updated' | 'lead.assigned' | 'lead.stage_changed' | 'lead.deleted';

/** The events a transaction's changes will append: lead events (rendered at the end) and ready ones. */
export type Announcements = {
  companyId: number;
  leads: { type: LeadEventType; leadId: number }[];
  ready: NewEvent[];
};

export const announcements = (companyId: number): Announcements => ({ companyId, leads: [], ready: [] });

export type LeadWithAnswers = LeadView & { answers: { question_id: number; value: unknown }[] };

/** Leads as their JSON is made, with their answers: two queries for any number of leads. */
export async function leadViews(tx: Executor, companyId: number, ids: number[]): Promise<Map<number, LeadWithAnswers>> {
  const unique = [...new Set(ids)];
  const [views, answers] = await Promise.all([findLeadViews(tx, companyId, unique), answersOf(tx, companyId, unique)]);
  const byLead = new Map<number, { question_id: number; value: unknown }[]>();
  for (const answer of answers) {
    const list = byLead.get(answer.leadId) ?? [];
    list.push({ question_id: answer.questionId, value: answer.value });
    byLead.set(answer.leadId, list);
  }
  return new Map(views.map((view) => [view.lead.id, { ...view, answers: byLead.get(view.lead.id) ?? [] }]));
}

/**
 * Appends the transaction's events, the lead ones rendered as the API shows the leads now: call it last, after
 * every other write and lock of the transaction. Answers the rendered leads, for the caller's own response.
 */
export async function announce(tx: Executor, pending: Announcements): Promise<Map<number, LeadWithAnswers>> {
  const views = await leadViews(
    tx,
    pending.companyId,
    pending.leads.map((event) => event.leadId),
  );
  const items: NewEvent[] = [];
  for (const event of pending.leads) {
    const view = views.get(event.leadId);
    if (!view) continue;
    const data = event.type === 'lead.deleted' ? presentTombstone(view.lead) : presentLead(view);
    items.push({ type: event.type, data, leadId: view.lead.id, assigneeUserAccessId: view.lead.assignedUserAccessId });
  }
  await appendEvents(tx, pending.companyId, [...items, ...pending.ready]);
  return views;
}

/** The events a lead's activities imply (see the header): what changed, in the order it is told. */
function announceActivities(out: Announcements, activities: Activity[]) {
  const byLead = new Map<number, Set<ActivityKind>>();
  for (const activity of activities) {
    const kinds = byLead.get(activity.leadId) ?? new Set<ActivityKind>();
    kinds.add(activity.kind);
    byLead.set(activity.leadId, kinds);
  }
  for (const [leadId, kinds] of byLead) {
    const changed = kinds.has('updated') || kinds.has('stage_changed') || kinds.has('assigned');
    if (changed) out.leads.push({ type: 'lead.updated', leadId });
    if (kinds.has('stage_changed')) out.leads.push({ type: 'lead.stage_changed', leadId });
    if (kinds.has('assigned')) out.leads.push({ type: 'lead.assigned', leadId });
  }
}

export type Activity = {
  companyId: number;
  leadId: number;
  actorUserId: number | null;
  kind: ActivityKind;
  data: Record<string, unknown>;
};

export type AnswerSet = { questionId: number; value: unknown }[];

/** How a lead got its assignee: the distribution rules' choice, or a person's (manual). */
function assignedActivity(
  base: Omit<Activity, 'kind' | 'data'>,
  assignment: Assignment | undefined,
  to: number | null,
) {
  if (assignment) return { ...base, kind: 'assigned' as const, data: assignmentActivity(assignment) };
  return to === null ? undefined : { ...base, kind: 'assigned' as const, data: { from: null, to, rule: 'manual' } };
}

/** One new lead (the API): its row, its answers, and its `created` and `assigned` activities. */
export async function createLead(
  tx: Executor,
  input: { values: NewLead; answers: AnswerSet; assignment: Assignment | undefined },
  out: Announcements,
): Promise<LeadRow> {
  const lead = await insertLead(tx, {
    ...input.values,
    ...(input.assignment ? { assignedUserAccessId: input.assignment.userAccessId } : {}),
  });
  await upsertAnswers(tx, lead.companyId, lead.id, input.answers);
  const base = { companyId: lead.companyId, leadId: lead.id, actorUserId: lead.createdByUserId };
  const assigned = assignedActivity(base, input.assignment, lead.assignedUserAccessId);
  await insertActivities(tx, [{ ...base, kind: 'created', data: {} }, ...(assigned ? [assigned] : [])]);
  out.leads.push({ type: 'lead.created', leadId: lead.id });
  if (lead.assignedUserAccessId !== null) out.leads.push({ type: 'lead.assigned', leadId: lead.id });
  return lead;
}

export type BatchLead = { record: LeadRecord; answers: AnswerSet; assignment: Assignment | undefined };

/**
 * New leads of an import batch, in a handful of statements whatever their number: rows with their `created`
 * activities (naming the import and the row), answers, `assigned` activities. A re-run of the same batch inserts
 * nothing twice (leads are unique by import and row); answers ids of the rows inserted.
 */
export async function createLeads(tx: Executor, batch: LeadBatch, items: BatchLead[], out: Announcements) {
  if (items.length === 0) return [];
  // New records, not the callers' changed: a transaction run again after a collision assigns afresh.
  const inserted = await insertLeadRecords(
    tx,
    batch,
    items.map((item) =>
      item.assignment ? { ...item.record, assigned_user_access_id: item.assignment.userAccessId } : item.record,
    ),
  );
  const byRow = new Map(items.map((item) => [item.record.import_row, item]));
  const answers: (AnswerSet[number] & { companyId: number; leadId: number })[] = [];
  const activities: Activity[] = [];
  for (const { id, importRow } of inserted) {
    const item = byRow.get(importRow)!;
    for (const answer of item.answers) answers.push({ ...answer, companyId: batch.companyId, leadId: id });
    const base = { companyId: batch.companyId, leadId: id, actorUserId: batch.createdByUserId };
    if (item.assignment) activities.push({ ...base, kind: 'assigned', data: assignmentActivity(item.assignment) });
    out.leads.push({ type: 'lead.created', leadId: id });
    if (item.assignment || item.record.assigned_user_access_id !== undefined) {
      out.leads.push({ type: 'lead.assigned', leadId: id });
    }
  }
  await insertAnswerRows(tx, answers);
  await insertActivities(tx, activities);
  return inserted;
}

/**
 * A change to a live lead: the row's new values, answers set or cleared, and the activities that describe it
 * (the caller knows why it changed: an edit, a stage move, an import row merged in). Undefined when the lead is
 * not there (deleted meanwhile).
 */
export async function updateLead(
  tx: Executor,
  companyId: number,
  leadId: number,
  change: { values: Partial<NewLead>; answers?: AnswerSet; clearedAnswers?: number[]; activities: Activity[] },
  out: Announcements,
): Promise<LeadRow | undefined> {
  const after = await updateLeadRow(tx, companyId, leadId, change.values);
  if (!after) return undefined;
  await upsertAnswers(tx, companyId, leadId, change.answers ?? []);
  await deleteAnswers(tx, companyId, leadId, change.clearedAnswers ?? []);
  await recordActivities(tx, change.activities, out);
  return after;
}

/** Soft delete: the lead leaves every list, its history stays; its upcoming appointments are canceled. */
export async function deleteLead(
  tx: Executor,
  companyId: number,
  leadId: number,
  actorUserId: number,
  now: Date,
  out: Announcements,
) {
  await softDeleteLeadRow(tx, companyId, leadId);
  // A deleted lead keeps no agent's time: its upcoming appointments are canceled (the past ones stay).
  const canceled = await cancelUpcomingAppointments(tx, companyId, leadId, now);
  await insertActivities(tx, [
    {
      companyId,
      leadId,
      actorUserId,
      kind: 'deleted',
      data: canceled.length ? { canceled_appointments: canceled } : {},
    },
  ]);
  out.leads.push({ type: 'lead.deleted', leadId });
  for (const id of canceled) {
    const view = await findAppointmentView(tx, companyId, id);
    if (!view) continue;
    const data = presentAppointment(view);
    out.ready.push({ type: 'appointment.canceled', data, leadId, assigneeUserAccessId: view.appointment.userAccessId });
  }
}

/**
 * Activities of a change the caller describes (an edit's diff, a note added or deleted), with the events they
 * imply (see the header; notes announce their own `note.created`).
 */
export async function recordActivities(tx: Executor, activities: Activity[], out: Announcements) {
  await insertActivities(tx, activities);
  announceActivities(out, activities);
}

/**
 * A user access is being removed: its open (not won or lost), live leads, locked in id order. Call before the
 * access is deleted (its leads lose their assignee with it), then `redistribute` them after.
 */
export const takeOpenLeadsOf = lockOpenLeadsOf;

export type OpenLead = Awaited<ReturnType<typeof lockOpenLeadsOf>>[number];

/**
 * A user access is being removed: its won and lost leads keep their history but lose their assignee (the access is
 * gone; its foreign key would clear it silently). Cleared here instead, before the access is deleted, like any
 * assignment change: an `assigned` activity, `updated_at`, and `lead.updated` + `lead.assigned`.
 */
export async function releaseClosedLeads(
  tx: Executor,
  companyId: number,
  removedUserAccessId: number,
  actorUserId: number | null,
  out: Announcements,
) {
  const ids = await lockClosedLeadsOf(tx, companyId, removedUserAccessId);
  if (ids.length === 0) return;
  await setAssignee(tx, companyId, ids, null);
  await recordActivities(
    tx,
    ids.map((leadId) => ({
      companyId,
      leadId,
      actorUserId,
      kind: 'assigned' as const,
      data: { from: removedUserAccessId, to: null, reason: 'access_removed' },
    })),
    out,
  );
}

/**
 * The removed access's open leads go back through the distribution rules (cycles on), or become unassigned. Call
 * inside the removal's transaction, after the access and its rotation memberships are gone. Won and lost leads
 * keep their history and lose their assignee (releaseClosedLeads).
 */
export async function redistribute(
  tx: Executor,
  companyId: number,
  removedUserAccessId: number,
  openLeads: OpenLead[],
  actorUserId: number | null,
  out: Announcements,
) {
  if (openLeads.length === 0) return;
  const assigner = await createAssigner(tx, companyId);
  const byAssignee = new Map<number | null, number[]>();
  const activities: Activity[] = [];
  for (const lead of openLeads) {
    const assignment = await assigner.assign(lead);
    const to = assignment?.userAccessId ?? null;
    byAssignee.set(to, [...(byAssignee.get(to) ?? []), lead.id]);
    activities.push({
      companyId,
      leadId: lead.id,
      actorUserId,
      kind: 'assigned',
      data: {
        ...(assignment ? assignmentActivity(assignment, removedUserAccessId) : { from: removedUserAccessId, to: null }),
        reason: 'access_removed',
      },
    });
  }
  await assigner.flush();
  for (const [to, ids] of byAssignee) await setAssignee(tx, companyId, ids, to);
  await recordActivities(tx, activities, out);
}
