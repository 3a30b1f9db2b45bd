import type { Db, Executor } from '../../db/client.ts';
import { AppError, conflict, type FieldError, fieldError, invalid, notFound, unprocessable } from '../../lib/errors.ts';
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
  afterId,
  clearDefault,
  countCycles,
  cycleOfSource,
  deleteCycle,
  findCycle,
  insertCycle,
  lockCycles,
  selectCycles,
  updateCycle,
} from './cycles.repository.ts';
import {
  type CreateCycleInput,
  type CycleView,
  type CycleWithSource,
  MAX_CYCLES,
  type PageInput,
  type UpdateCycleInput,
} from './cycles.schemas.ts';

const sourceTaken = () =>
  new AppError(409, 'source_has_cycle', 'Conflict', 'Another cycle of the company is bound to this source.', [
    { field: 'source_id', code: 'taken', message: 'already has a cycle' },
  ]);

function uniqueConstraintOf(error: unknown): string | undefined {
  for (let current = error as { cause?: unknown } | undefined, depth = 0; current && depth < 4; depth++) {
    const pg = current as { code?: unknown; constraint?: unknown };
    if (pg.code === '23505' && typeof pg.constraint === 'string') return pg.constraint;
    current = current.cause as { cause?: unknown } | undefined;
  }
  return undefined;
}

/** The lock makes these unreachable; mapped anyway, so that no race can ever answer 500. */
async function mappingUniqueViolations<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const constraint = uniqueConstraintOf(error);
    if (constraint === 'cycles_one_per_source') throw sourceTaken();
    if (constraint === 'cycles_one_default') {
      throw conflict('default_cycle_changed', 'Another cycle became the default at the same time; retry.');
    }
    throw error;
  }
}

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
      const work = db.transaction(async (tx) => {
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
      return mappingUniqueViolations(work);
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id'])?.[0];
      const rows = await selectCycles(db, companyId, after === undefined ? undefined : afterId(after), limit + 1);
      const total = query.count ? await countCycles(db, companyId) : undefined;
      const page = toPage(rows, limit, (row) => [row.cycle.id], total);
      return { items: await withMembers(db, companyId, page.items), meta: page.meta };
    },

    show: (companyId: number, id: number) => view(db, companyId, id),

    /** A new member list replaces the old; members who stay keep their running weight and their count. */
    async update(companyId: number, id: number, input: UpdateCycleInput): Promise<CycleView> {
      const work = db.transaction(async (tx) => {
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
      return mappingUniqueViolations(work);
    },

    async remove(companyId: number, id: number) {
      if (!(await deleteCycle(db, companyId, id))) throw notFound('Cycle');
    },
  };
}

export type CyclesService = ReturnType<typeof createCyclesService>;
