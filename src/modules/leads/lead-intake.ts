import type { Executor } from '../../db/client.ts';
import { type Assignment, assignmentActivity, createAssigner } from '../distribution/distribution.service.ts';
import {
  type ActivityKind,
  cancelUpcomingAppointments,
  deleteAnswers,
  insertActivities,
  insertAnswerRows,
  insertLead,
  insertLeadRecords,
  type LeadBatch,
  type LeadRecord,
  type LeadRow,
  lockOpenLeadsOf,
  type NewLead,
  setAssignee,
  updateLeadRow,
  upsertAnswers,
} from './leads.repository.ts';

/**
 * The lead intake: the one way leads, their answers and their activities are written — by the API, an import,
 * redistribution and notes alike — so every change to a lead leaves the same trace in its timeline (and, with the
 * integrations, the same event). Each function runs in the caller's transaction, after the caller took its locks in
 * the order of src/db/locks.ts; SQL stays in leads.repository.ts, the only file that writes these tables.
 */

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
): Promise<LeadRow> {
  const lead = await insertLead(tx, {
    ...input.values,
    ...(input.assignment ? { assignedUserAccessId: input.assignment.userAccessId } : {}),
  });
  await upsertAnswers(tx, lead.companyId, lead.id, input.answers);
  const base = { companyId: lead.companyId, leadId: lead.id, actorUserId: lead.createdByUserId };
  const assigned = assignedActivity(base, input.assignment, lead.assignedUserAccessId);
  await insertActivities(tx, [{ ...base, kind: 'created', data: {} }, ...(assigned ? [assigned] : [])]);
  return lead;
}

export type BatchLead = { record: LeadRecord; answers: AnswerSet; assignment: Assignment | undefined };

/**
 * New leads of an import batch, in a handful of statements whatever their number: rows with their `created`
 * activities (naming the import and the row), answers, `assigned` activities. A re-run of the same batch inserts
 * nothing twice (leads are unique by import and row); answers ids of the rows inserted.
 */
export async function createLeads(tx: Executor, batch: LeadBatch, items: BatchLead[]) {
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
): Promise<LeadRow | undefined> {
  const after = await updateLeadRow(tx, companyId, leadId, change.values);
  if (!after) return undefined;
  await upsertAnswers(tx, companyId, leadId, change.answers ?? []);
  await deleteAnswers(tx, companyId, leadId, change.clearedAnswers ?? []);
  await insertActivities(tx, change.activities);
  return after;
}

/** Soft delete: the lead leaves every list, its history stays; its upcoming appointments are canceled. */
export async function deleteLead(tx: Executor, companyId: number, leadId: number, actorUserId: number, now: Date) {
  await updateLeadRow(tx, companyId, leadId, { deletedAt: now });
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
}

/** Activities that are about a lead but change no lead row (a note added or deleted). */
export const recordActivities = (tx: Executor, activities: Activity[]) => insertActivities(tx, activities);

/**
 * A user access is being removed: its open (not won or lost), live leads, locked in id order. Call before the
 * access is deleted (its leads lose their assignee with it), then `redistribute` them after.
 */
export const takeOpenLeadsOf = lockOpenLeadsOf;

export type OpenLead = Awaited<ReturnType<typeof lockOpenLeadsOf>>[number];

/**
 * The removed access's open leads go back through the distribution rules (cycles on), or become unassigned. Call
 * inside the removal's transaction, after the access and its rotation memberships are gone. Won and lost leads
 * keep their assignee and their history.
 */
export async function redistribute(
  tx: Executor,
  companyId: number,
  removedUserAccessId: number,
  openLeads: OpenLead[],
  actorUserId: number | null,
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
  await insertActivities(tx, activities);
}
