import type { Executor } from '../../db/client.ts';
import { matchTerritories } from '../territories/territory-match.ts';
import {
  advance,
  type DistributionContext,
  distributionContext,
  lockMembers,
  type Rotation,
  sourceCycle,
} from './distribution.repository.ts';
import { pickNext, type RotationMember } from './rotation.ts';

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

/**
 * An assignment session inside one transaction: each rotation it touches is locked and read once, advanced in
 * memory lead after lead, and written back by `flush()` — exactly what one-by-one assignment would do, in a handful
 * of statements for a whole import batch. Call `flush()` before the transaction commits.
 */
export async function createAssigner(tx: Executor, companyId: number, context?: DistributionContext) {
  const company = context ?? (await distributionContext(tx, companyId));
  const rotations = new Map<string, { rotation: Rotation; members: RotationMember[]; picks: number[] }>();
  const sourceCycles = new Map<number, { id: number; name: string } | null>();

  async function take(rotation: Rotation): Promise<number | undefined> {
    const key = `${rotation.kind}:${rotation.id}`;
    let state = rotations.get(key);
    if (!state) {
      state = { rotation, members: await lockMembers(tx, rotation), picks: [] };
      rotations.set(key, state);
    }
    const next = pickNext(state.members);
    if (!next) return undefined;
    state.members = state.members.map((member) => ({
      ...member,
      currentWeight: next.currentWeights.get(member.userAccessId) ?? member.currentWeight,
    }));
    state.picks.push(next.userAccessId);
    return next.userAccessId;
  }

  async function cycleOfSource(sourceId: number) {
    if (!sourceCycles.has(sourceId)) sourceCycles.set(sourceId, (await sourceCycle(tx, companyId, sourceId)) ?? null);
    return sourceCycles.get(sourceId)!;
  }

  return {
    /**
     * Who gets a lead that arrives without an assignee, when the company has cycles enabled: the most specific
     * matching territory (postal code, region, country), else the lead's source (the cycle bound to it, else the
     * user accesses assigned to it), else the default cycle. A rule whose rotation has no active member gives way
     * to the next.
     */
    async assign(lead: LeadLocation): Promise<Assignment | undefined> {
      if (!company.cyclesEnabled) return undefined;
      const place = { country: lead.country, region: lead.region, postal_code: lead.postalCode };
      for (const { territory, rule } of matchTerritories(company.territories, place, company.companyCountry)) {
        const rotation = { kind: 'territory' as const, id: territory.id };
        const userAccessId = await take(rotation);
        if (userAccessId)
          return { userAccessId, rule: 'territory', match: rule, rotation: { ...rotation, name: territory.name } };
      }
      if (lead.sourceId !== null) {
        const cycle = await cycleOfSource(lead.sourceId);
        const viaCycle = cycle ? await take({ kind: 'cycle', id: cycle.id }) : undefined;
        if (viaCycle) return { userAccessId: viaCycle, rule: 'source_cycle', rotation: { kind: 'cycle', ...cycle! } };
        const viaSource = await take({ kind: 'source', id: lead.sourceId });
        if (viaSource)
          return { userAccessId: viaSource, rule: 'source', rotation: { kind: 'source', id: lead.sourceId } };
      }
      if (company.defaultCycle) {
        const userAccessId = await take({ kind: 'cycle', id: company.defaultCycle.id });
        if (userAccessId) {
          return { userAccessId, rule: 'default_cycle', rotation: { kind: 'cycle', ...company.defaultCycle } };
        }
      }
      return undefined;
    },

    /** Writes every touched rotation's running weights and pick counts. */
    async flush(): Promise<void> {
      for (const state of rotations.values()) {
        if (state.picks.length === 0) continue;
        const weights = new Map(state.members.map((member) => [member.userAccessId, member.currentWeight]));
        await advance(tx, state.rotation, weights, state.picks);
      }
    },
  };
}

/** One lead's assignment, in the caller's transaction (the one that writes the lead). */
export async function chooseAssignee(
  tx: Executor,
  companyId: number,
  lead: LeadLocation,
): Promise<Assignment | undefined> {
  const assigner = await createAssigner(tx, companyId);
  const assignment = await assigner.assign(lead);
  await assigner.flush();
  return assignment;
}

export const assignmentActivity = (assignment: Assignment, from: number | null = null) => ({
  from,
  to: assignment.userAccessId,
  rule: assignment.rule,
  rotation: assignment.rotation,
  ...(assignment.match ? { match: assignment.match } : {}),
});
