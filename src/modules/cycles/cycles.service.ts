import type { Db, Executor } from '../../db/client.ts';
import { AppError, type FieldError, fieldError, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { updateCompany } from '../companies/companies.repository.ts';
import {
  companyUserAccessIds,
  replaceMembers,
  selectMembers,
  upsertMembers,
} from '../rotation-members/rotation-members.repository.ts';
import { memberErrors, memberRows, membersByOwner } from '../rotation-members/rotation-members.service.ts';
import { findSource } from '../sources/sources.repository.ts';
import {
  type CycleWithSource,
  clearDefault,
  countCycles,
  cycleOfSource,
  deleteCycle,
  findCycle,
  insertCycle,
  listCycles,
  lockCycles,
  updateCycle,
} from './cycles.repository.ts';
import {
  type CreateCycleInput,
  type CycleView,
  MAX_CYCLES,
  type PageInput,
  type UpdateCycleInput,
} from './cycles.schemas.ts';

// The same answer as a race on cycles_one_per_source gets (src/plugins/errors.ts).
const sourceTaken = () =>
  new AppError(409, 'source_has_cycle', 'Conflict', 'Another cycle of the company is bound to this source.', [
    { field: 'source_id', code: 'taken', message: 'already has a cycle' },
  ]);

/** Cycle rows with their members: one extra query for any number of cycles. */
async function withMembers(db: Executor, companyId: number, rows: CycleWithSource[]): Promise<CycleView[]> {
  const ids = rows.map((row) => row.cycle.id);
  const membersOf = membersByOwner(await selectMembers(db, 'cycle', companyId, ids));
  return rows.map((row) => ({ ...row, members: membersOf(row.cycle.id) }));
}

/** Members and source checked together: one 422 lists every problem. Then a source taken by another cycle: 409. */
async function checkInput(tx: Executor, companyId: number, input: UpdateCycleInput, cycleId?: number) {
  const errors: FieldError[] = [];
  if (input.user_access_ids) {
    const known = await companyUserAccessIds(tx, companyId, input.user_access_ids);
    errors.push(...memberErrors('', { user_access_ids: input.user_access_ids, weights: input.weights }, known));
  } else if (input.weights) {
    errors.push(fieldError('weights', 'requires_user_access_ids', 'must be sent with the user_access_ids they weigh'));
  }
  const sourceId = input.source_id;
  if (sourceId && !(await findSource(tx, companyId, sourceId))) {
    errors.push(fieldError('source_id', 'invalid_reference', 'is not a live source of this company'));
  }
  if (errors.length > 0) throw invalid(errors);
  if (sourceId && (await cycleOfSource(tx, companyId, sourceId, cycleId))) throw sourceTaken();
}

export function createCyclesService(deps: { db: Db }) {
  const { db } = deps;

  async function view(executor: Executor, companyId: number, id: number): Promise<CycleView> {
    const row = await findCycle(executor, companyId, id);
    if (!row) throw notFound('Cycle');
    const [result] = await withMembers(executor, companyId, [row]);
    return result!;
  }

  return {
    async setEnabled(companyId: number, enabled: boolean) {
      const company = await updateCompany(db, companyId, { cyclesEnabled: enabled });
      if (!company) throw notFound('Company');
      return company;
    },

    async create(companyId: number, input: CreateCycleInput): Promise<CycleView> {
      // The lock makes the unique indexes unreachable; a race on them still answers 409 (src/plugins/errors.ts).
      return db.transaction(async (tx) => {
        await lockCycles(tx, companyId);
        if ((await countCycles(tx, companyId)) >= MAX_CYCLES) {
          throw unprocessable('too_many_cycles', `A company has at most ${MAX_CYCLES} cycles.`, 'name');
        }
        await checkInput(tx, companyId, input);
        if (input.default) await clearDefault(tx, companyId);
        const id = await insertCycle(tx, companyId, {
          name: input.name.trim(),
          sourceId: input.source_id ?? null,
          isDefault: input.default ?? false,
        });
        await upsertMembers(tx, 'cycle', companyId, memberRows(id, input));
        return view(tx, companyId, id);
      });
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id'])?.[0];
      const rows = await listCycles(db, companyId, { afterId: after, limit });
      const total = query.count ? await countCycles(db, companyId) : undefined;
      const page = toPage(rows, limit, (row) => [row.cycle.id], total);
      return { items: await withMembers(db, companyId, page.items), meta: page.meta };
    },

    show: (companyId: number, id: number) => view(db, companyId, id),

    /** A new member list replaces the old; members who stay keep their running weight and their count. */
    async update(companyId: number, id: number, input: UpdateCycleInput): Promise<CycleView> {
      return db.transaction(async (tx) => {
        await lockCycles(tx, companyId);
        if (!(await findCycle(tx, companyId, id))) throw notFound('Cycle');
        await checkInput(tx, companyId, input, id);
        if (input.default) await clearDefault(tx, companyId, id);
        const values = { name: input.name?.trim(), sourceId: input.source_id, isDefault: input.default };
        // Deleted meanwhile (DELETE does not take the cycles lock): the row update is what tells.
        if (!(await updateCycle(tx, companyId, id, values))) throw notFound('Cycle');
        if (input.user_access_ids) {
          await replaceMembers(
            tx,
            'cycle',
            companyId,
            id,
            memberRows(id, { ...input, user_access_ids: input.user_access_ids }),
          );
        }
        return view(tx, companyId, id);
      });
    },

    async remove(companyId: number, id: number) {
      if (!(await deleteCycle(db, companyId, id))) throw notFound('Cycle');
    },
  };
}

export type CyclesService = ReturnType<typeof createCyclesService>;
