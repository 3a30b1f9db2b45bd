import type { Db } from '../../db/client.ts';
import { notFound } from '../../lib/errors.ts';
import { ACCESS_PERMISSIONS } from '../../lib/permissions.ts';
import { findAccess, listAccesses, listStages } from './reference.repository.ts';

type AccessRow = NonNullable<Awaited<ReturnType<typeof findAccess>>>;

const presentAccess = (row: AccessRow) => ({ ...row, permissions: [...ACCESS_PERMISSIONS[row.code]] });

/** Stages and accesses: reference data every signed-in user may read. */
export function createReferenceService(deps: { db: Db }) {
  return {
    stages: () => listStages(deps.db),
    accesses: async () => (await listAccesses(deps.db)).map(presentAccess),
    async access(id: number) {
      const row = await findAccess(deps.db, id);
      if (!row) throw notFound('Access');
      return presentAccess(row);
    },
  };
}

export type ReferenceService = ReturnType<typeof createReferenceService>;
