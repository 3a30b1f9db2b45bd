import type { Db, Executor } from '../../db/client.ts';
import { AppError, conflict, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { reorderErrors } from '../../lib/ordering.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import {
  assignedUserAccesses,
  assignUserAccess,
  countSources,
  findSource,
  insertSource,
  listSources,
  liveSourceIds,
  lockSourceList,
  nameTaken,
  nextPriority,
  type SourceRow,
  setPriorities,
  shiftFrom,
  softDeleteSource,
  unassignUserAccess,
  updateSource,
  userAccessOfCompany,
} from './sources.repository.ts';
import {
  type CreateSourceInput,
  MAX_SOURCES,
  type PageInput,
  type SourceView,
  type UpdateSourceInput,
} from './sources.schemas.ts';

const nameIsTaken = () =>
  new AppError(409, 'source_name_taken', 'Conflict', 'The company already has a source with this name.', [
    { field: 'name', code: 'taken', message: 'is already the name of another source (case-insensitive)' },
  ]);

/** The source rows with their assigned user accesses: one extra query for any number of sources. */
async function withUserAccesses(db: Executor, companyId: number, rows: SourceRow[]): Promise<SourceView[]> {
  const assigned = await assignedUserAccesses(
    db,
    companyId,
    rows.map((row) => row.id),
  );
  return rows.map((source) => ({ source, userAccesses: assigned.filter((ua) => ua.sourceId === source.id) }));
}

export function createSourcesService(deps: { db: Db }) {
  const { db } = deps;

  async function view(executor: Executor, companyId: number, id: number): Promise<SourceView> {
    const source = await findSource(executor, companyId, id);
    if (!source) throw notFound('Source');
    const [result] = await withUserAccesses(executor, companyId, [source]);
    return result!;
  }

  async function liveList(executor: Executor, companyId: number) {
    return withUserAccesses(executor, companyId, await listSources(executor, companyId, { limit: MAX_SOURCES }));
  }

  return {
    async create(companyId: number, input: CreateSourceInput): Promise<SourceView> {
      const name = input.name.trim();
      return db.transaction(async (tx) => {
        await lockSourceList(tx, companyId);
        if ((await countSources(tx, companyId)) >= MAX_SOURCES) {
          throw unprocessable('too_many_sources', `A company has at most ${MAX_SOURCES} sources.`, 'name');
        }
        if (await nameTaken(tx, companyId, name)) throw nameIsTaken();
        let priority = input.priority;
        if (priority === undefined) priority = await nextPriority(tx, companyId);
        else await shiftFrom(tx, companyId, priority);
        const row = await insertSource(tx, companyId, { name, priority });
        return { source: row, userAccesses: [] };
      });
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['integer', 'id']);
      const rows = await listSources(db, companyId, { limit, ...(after ? { after } : {}) });
      const total = query.count ? await countSources(db, companyId) : undefined;
      const page = toPage(rows, limit, (row) => [row.priority, row.id], total);
      return { items: await withUserAccesses(db, companyId, page.items), meta: page.meta };
    },

    async update(companyId: number, id: number, input: UpdateSourceInput): Promise<SourceView> {
      return db.transaction(async (tx) => {
        await lockSourceList(tx, companyId);
        if (!(await findSource(tx, companyId, id))) throw notFound('Source');
        const name = input.name?.trim();
        if (name !== undefined && (await nameTaken(tx, companyId, name, id))) throw nameIsTaken();
        if (input.priority !== undefined) await shiftFrom(tx, companyId, input.priority, id);
        await updateSource(tx, companyId, id, {
          ...(name !== undefined ? { name } : {}),
          ...(input.priority !== undefined ? { priority: input.priority } : {}),
        });
        return view(tx, companyId, id);
      });
    },

    /** Soft: leads and campaigns keep pointing at the source; it leaves lists and its routes answer 404. */
    async remove(companyId: number, id: number) {
      await db.transaction(async (tx) => {
        await lockSourceList(tx, companyId);
        if (!(await findSource(tx, companyId, id))) throw notFound('Source');
        await softDeleteSource(tx, companyId, id);
      });
    },

    /** The whole live list in its new order, or nothing changes. */
    async reorder(companyId: number, ids: readonly number[]): Promise<SourceView[]> {
      return db.transaction(async (tx) => {
        await lockSourceList(tx, companyId);
        const errors = reorderErrors('source_ids', ids, await liveSourceIds(tx, companyId), 'live source');
        if (errors.length > 0) throw invalid(errors);
        await setPriorities(tx, companyId, ids);
        return liveList(tx, companyId);
      });
    },

    async assign(companyId: number, sourceId: number, userAccessId: number): Promise<SourceView> {
      return db.transaction(async (tx) => {
        if (!(await findSource(tx, companyId, sourceId))) throw notFound('Source');
        if (!(await userAccessOfCompany(tx, companyId, userAccessId))) {
          throw unprocessable(
            'invalid_reference',
            'The user access is not a member of this company.',
            'user_access_id',
          );
        }
        if (!(await assignUserAccess(tx, companyId, sourceId, userAccessId))) {
          throw conflict('already_assigned', 'This user access is already assigned to the source.');
        }
        return view(tx, companyId, sourceId);
      });
    },

    async unassign(companyId: number, sourceId: number, userAccessId: number) {
      if (!(await findSource(db, companyId, sourceId))) throw notFound('Source');
      if (!(await unassignUserAccess(db, companyId, sourceId, userAccessId))) throw notFound('Assignment');
    },
  };
}

export type SourcesService = ReturnType<typeof createSourcesService>;
