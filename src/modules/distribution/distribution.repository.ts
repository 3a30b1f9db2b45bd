import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { MatchableTerritory } from '../territories/territory-match.ts';
import type { RotationMember } from './rotation.ts';

/** A rotation: the members of a cycle or a territory, or the user accesses assigned to a source. */
export type Rotation = { kind: 'cycle' | 'territory' | 'source'; id: number };

const MEMBERS = {
  cycle: { table: sql`cycle_members`, owner: sql`cycle_id`, order: sql`m.position` },
  territory: { table: sql`territory_members`, owner: sql`territory_id`, order: sql`m.position` },
  // A source's user accesses rotate in the order they were assigned; they all weigh 1.
  source: { table: sql`source_user_accesses`, owner: sql`source_id`, order: sql`m.created_at, m.user_access_id` },
} as const;

/**
 * Locks a rotation's member rows (in position order, so concurrent pickers queue instead of deadlocking) and reads
 * them with whether each member can receive leads now: the user is not deactivated.
 */
export async function lockMembers(db: Executor, rotation: Rotation): Promise<RotationMember[]> {
  const { table, owner, order } = MEMBERS[rotation.kind];
  const weight = rotation.kind === 'source' ? sql`1` : sql`m.weight`;
  const result = await db.execute<{ user_access_id: number; weight: number; current_weight: number; active: boolean }>(
    sql`select m.user_access_id, ${weight} as weight, m.current_weight, u.status <> 'inactive' as active
        from ${table} m
        join user_accesses ua on ua.id = m.user_access_id
        join users u on u.id = ua.user_id
        where m.${owner} = ${rotation.id}
        order by ${order}
        for update of m`,
  );
  return result.rows.map((row) => ({
    userAccessId: Number(row.user_access_id),
    weight: Number(row.weight),
    currentWeight: Number(row.current_weight),
    active: Boolean(row.active),
  }));
}

/** Writes the rotation's new running weights and counts the picks, in one statement. */
export async function advance(db: Executor, rotation: Rotation, weights: Map<number, number>, picks: number[]) {
  const picked = new Map<number, number>();
  for (const id of picks) picked.set(id, (picked.get(id) ?? 0) + 1);
  const { table, owner } = MEMBERS[rotation.kind];
  const values = sql.join(
    [...weights].map(
      ([userAccessId, weight]) =>
        sql`(${userAccessId}::bigint, ${weight}::bigint, ${picked.get(userAccessId) ?? 0}::bigint)`,
    ),
    sql`, `,
  );
  const counts = rotation.kind === 'source' ? sql`` : sql`, assigned_count = assigned_count + v.picks`;
  await db.execute(sql`update ${table} set current_weight = v.weight ${counts}
    from (values ${values}) as v(id, weight, picks)
    where ${table}.${owner} = ${rotation.id} and ${table}.user_access_id = v.id`);
}

export type DistributionContext = {
  cyclesEnabled: boolean;
  companyCountry: string | null;
  territories: (MatchableTerritory & { name: string })[];
  defaultCycle: { id: number; name: string } | null;
};

/** What every assignment in a company needs, in one query: the flag, the country, territories, the default cycle. */
export async function distributionContext(db: Executor, companyId: number): Promise<DistributionContext> {
  const result = await db.execute<{
    cycles_enabled: boolean;
    country: string | null;
    territories: { id: number; name: string; country: string | null; regions: string[]; postal_codes: string[] }[];
    default_cycle: { id: number; name: string } | null;
  }>(sql`select c.cycles_enabled, c.country,
      coalesce((select json_agg(json_build_object('id', t.id, 'name', t.name, 'country', t.country,
                  'regions', t.regions, 'postal_codes', t.postal_codes) order by t.id)
                from territories t where t.company_id = c.id), '[]'::json) as territories,
      (select json_build_object('id', y.id, 'name', y.name) from cycles y
        where y.company_id = c.id and y.is_default) as default_cycle
    from companies c where c.id = ${companyId}`);
  const row = result.rows[0];
  return {
    cyclesEnabled: Boolean(row?.cycles_enabled),
    companyCountry: row?.country ?? null,
    territories: (row?.territories ?? []).map((t) => ({
      id: Number(t.id),
      name: t.name,
      country: t.country,
      regions: t.regions ?? [],
      postalCodes: t.postal_codes ?? [],
    })),
    defaultCycle: row?.default_cycle ? { id: Number(row.default_cycle.id), name: row.default_cycle.name } : null,
  };
}

/** The cycle bound to a source, if any. */
export async function sourceCycle(db: Executor, companyId: number, sourceId: number) {
  const result = await db.execute<{ id: number; name: string }>(
    sql`select id, name from cycles where company_id = ${companyId} and source_id = ${sourceId}`,
  );
  const row = result.rows[0];
  return row ? { id: Number(row.id), name: row.name } : undefined;
}
