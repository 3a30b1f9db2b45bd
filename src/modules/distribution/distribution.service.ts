import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { leadActivities, leads } from '../../db/schema/index.ts';
import {
  advance,
  type DistributionContext,
  distributionContext,
  lockMembers,
  lockOpenLeadsOf,
  type Rotation,
  sourceCycle,
} from './distribution.repository.ts';
import { pickNext } from './rotation.ts';
import { matchTerritories } from './territory-match.ts';

export type LeadLocation = {
  country: string | null;
  region: string | null;
  postalCode: string | null;
  sourceId: number | null;
};

/** Why a lead went where it went: stored in its activity timeline. */
export type Assignment = {
  userAccessId: number;
  rule: 'territory' | 'source_cycle' | 'source' | 'default_cycle';
  rotation: Rotation & { name?: string };
  match?: 'postal_code' | 'region' | 'country';
};

/** Picks the next active member of a rotation and advances it, inside the caller's transaction. */
async function take(tx: Executor, rotation: Rotation): Promise<number | undefined> {
  const members = await lockMembers(tx, rotation);
  const next = pickNext(members);
  if (!next) return undefined;
  await advance(tx, rotation, next.currentWeights, next.userAccessId);
  return next.userAccessId;
}

/**
 * Who gets a lead that arrives without an assignee, when the company has cycles enabled: the most specific
 * matching territory (postal code, region, country), else the lead's source (the cycle bound to it, else the user
 * accesses assigned to it), else the default cycle. A rule whose rotation has no active member gives way to the
 * next. The rotation advances in the caller's transaction, the one that writes the lead.
 */
export async function chooseAssignee(
  tx: Executor,
  companyId: number,
  lead: LeadLocation,
  context?: DistributionContext,
): Promise<Assignment | undefined> {
  const company = context ?? (await distributionContext(tx, companyId));
  if (!company.cyclesEnabled) return undefined;
  for (const match of matchTerritories(company.territories, lead, company.companyCountry)) {
    const rotation = { kind: 'territory' as const, id: match.territoryId };
    const userAccessId = await take(tx, rotation);
    const name = company.territories.find((t) => t.id === match.territoryId)?.name;
    if (userAccessId) return { userAccessId, rule: 'territory', match: match.rule, rotation: { ...rotation, name } };
  }
  if (lead.sourceId !== null) {
    const cycle = await sourceCycle(tx, companyId, lead.sourceId);
    if (cycle) {
      const userAccessId = await take(tx, { kind: 'cycle', id: cycle.id });
      if (userAccessId) return { userAccessId, rule: 'source_cycle', rotation: { kind: 'cycle', ...cycle } };
    }
    const userAccessId = await take(tx, { kind: 'source', id: lead.sourceId });
    if (userAccessId) return { userAccessId, rule: 'source', rotation: { kind: 'source', id: lead.sourceId } };
  }
  if (company.defaultCycle) {
    const userAccessId = await take(tx, { kind: 'cycle', id: company.defaultCycle.id });
    if (userAccessId) {
      return { userAccessId, rule: 'default_cycle', rotation: { kind: 'cycle', ...company.defaultCycle } };
    }
  }
  return undefined;
}

export const assignmentActivity = (assignment: Assignment, from: number | null = null) => ({
  from,
  to: assignment.userAccessId,
  rule: assignment.rule,
  rotation: assignment.rotation,
  ...(assignment.match ? { match: assignment.match } : {}),
});

/**
 * A user access is being removed: its open leads go back through the distribution rules (cycles on), or become
 * unassigned (cycles off). Call inside the removal's transaction, after the access and its rotation memberships are
 * gone, with the leads read before (see lockOpenLeadsOf). Won and lost leads keep their history in the timeline.
 */
export async function redistribute(
  tx: Executor,
  companyId: number,
  removedUserAccessId: number,
  openLeads: (LeadLocation & { id: number })[],
  actorUserId: number | null,
) {
  if (openLeads.length === 0) return;
  const context = await distributionContext(tx, companyId);
  const activities: (typeof leadActivities.$inferInsert)[] = [];
  const unassigned: number[] = [];
  for (const lead of openLeads) {
    const assignment = context.cyclesEnabled ? await chooseAssignee(tx, companyId, lead, context) : undefined;
    if (assignment) {
      await tx
        .update(leads)
        .set({ assignedUserAccessId: assignment.userAccessId, updatedAt: sql`now()` })
        .where(eq(leads.id, lead.id));
    } else {
      unassigned.push(lead.id);
    }
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
  if (unassigned.length > 0) {
    await tx
      .update(leads)
      .set({ assignedUserAccessId: null, updatedAt: sql`now()` })
      .where(and(eq(leads.companyId, companyId), inArray(leads.id, unassigned)));
  }
  await tx.insert(leadActivities).values(activities);
}

export { lockOpenLeadsOf };
