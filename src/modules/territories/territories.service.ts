import type { Db, Executor } from '../../db/client.ts';
import { type FieldError, fieldError, invalid, notFound } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import {
  companyUserAccessIds,
  replaceMembers,
  selectMembers,
  upsertMembers,
} from '../rotation-members/rotation-members.repository.ts';
import { memberErrors, memberRows, membersByOwner } from '../rotation-members/rotation-members.service.ts';
import {
  countTerritories,
  deleteTerritory,
  findTerritory,
  insertTerritories,
  lockTerritories,
  selectTerritories,
  updateTerritory,
} from './territories.repository.ts';
import {
  MAX_TERRITORIES,
  type PageInput,
  type TerritoryInput,
  type TerritoryRow,
  type TerritoryView,
  type UpdateTerritoryInput,
} from './territories.schemas.ts';
import { normalizeTerritory } from './territory-input.ts';

/** Territory rows with their members: one extra query for any number of territories. */
async function withMembers(db: Executor, companyId: number, rows: TerritoryRow[]): Promise<TerritoryView[]> {
  const ids = rows.map((row) => row.id);
  const membersOf = membersByOwner(await selectMembers(db, 'territory', companyId, ids));
  return rows.map((territory) => ({ territory, members: membersOf(territory.id) }));
}

/** A PATCH body over the stored territory: what the territory would be, to check whole. */
function merged(current: TerritoryRow, input: UpdateTerritoryInput) {
  return {
    name: input.name ?? current.name,
    country: input.country !== undefined ? input.country : current.country,
    regions: input.regions ?? current.regions,
    postal_codes: input.postal_codes ?? current.postalCodes,
  };
}

export function createTerritoriesService(deps: { db: Db }) {
  const { db } = deps;

  async function view(executor: Executor, companyId: number, id: number): Promise<TerritoryView> {
    const row = await findTerritory(executor, companyId, id);
    if (!row) throw notFound('Territory');
    const [result] = await withMembers(executor, companyId, [row]);
    return result!;
  }

  return {
    /** All or nothing: every item is checked, every problem reported at once, and one transaction writes them. */
    async createMany(companyId: number, items: readonly TerritoryInput[]): Promise<TerritoryView[]> {
      return db.transaction(async (tx) => {
        await lockTerritories(tx, companyId);
        const known = await companyUserAccessIds(
          tx,
          companyId,
          items.flatMap((item) => item.user_access_ids),
        );
        const errors: FieldError[] = [];
        const rows = items.map((item, index) => {
          const { fields, errors: invalidFields } = normalizeTerritory(`territories.${index}`, item);
          errors.push(...invalidFields, ...memberErrors(`territories.${index}`, item, known));
          return fields;
        });
        if ((await countTerritories(tx, companyId)) + items.length > MAX_TERRITORIES) {
          errors.push(
            fieldError('territories', 'too_many_territories', `a company has at most ${MAX_TERRITORIES} territories`),
          );
        }
        if (errors.length > 0) throw invalid(errors);
        const ids = await insertTerritories(tx, companyId, rows);
        await upsertMembers(
          tx,
          'territory',
          companyId,
          items.flatMap((item, index) => memberRows(ids[index]!, item)),
        );
        return withMembers(tx, companyId, await selectTerritories(tx, companyId, { ids }));
      });
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id'])?.[0];
      const rows = await selectTerritories(db, companyId, { afterId: after, limit: limit + 1 });
      const total = query.count ? await countTerritories(db, companyId) : undefined;
      const page = toPage(rows, limit, (row) => [row.id], total);
      return { items: await withMembers(db, companyId, page.items), meta: page.meta };
    },

    show: (companyId: number, id: number) => view(db, companyId, id),

    /** A new member list replaces the old; members who stay keep their running weight and their count. */
    async update(companyId: number, id: number, input: UpdateTerritoryInput): Promise<TerritoryView> {
      return db.transaction(async (tx) => {
        const current = await findTerritory(tx, companyId, id, true);
        if (!current) throw notFound('Territory');
        const { fields, errors } = normalizeTerritory('', merged(current, input));
        const ids = input.user_access_ids;
        if (ids) {
          const known = await companyUserAccessIds(tx, companyId, ids);
          errors.push(...memberErrors('', { user_access_ids: ids, weights: input.weights }, known));
        } else if (input.weights) {
          errors.push(
            fieldError('weights', 'requires_user_access_ids', 'must be sent with the user_access_ids they weigh'),
          );
        }
        if (errors.length > 0) throw invalid(errors);
        await updateTerritory(tx, companyId, id, fields);
        if (ids) {
          await replaceMembers(
            tx,
            'territory',
            companyId,
            id,
            memberRows(id, { user_access_ids: ids, weights: input.weights }),
          );
        }
        return view(tx, companyId, id);
      });
    },

    async remove(companyId: number, id: number) {
      if (!(await deleteTerritory(db, companyId, id))) throw notFound('Territory');
    },
  };
}

export type TerritoriesService = ReturnType<typeof createTerritoriesService>;
