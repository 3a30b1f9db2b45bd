import type { Db } from '../../db/client.ts';
import type { Clock } from '../../lib/clock.ts';
import { fieldError, invalid, notFound, unprocessable } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { EffectiveAccess, Principal } from '../../lib/permissions.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import { assertMayGiveKeyAccess } from '../authz/authz.policies.ts';
import { findAccess } from '../user-accesses/user-accesses.repository.ts';
import { countLive, findView, insertApiKey, listViews, revoke } from './api-keys.repository.ts';
import type { CreateApiKeyInput, PageInput } from './api-keys.schemas.ts';

/** Every key starts so: a scanner (or a person) can tell a leaked Leadsy key from other secrets. */
export const API_KEY_PREFIX = 'lsk_';
// `lsk_` + 8 characters of the random part: enough to tell a company's keys apart, far too few to guess the rest.
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

export function createApiKeysService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  async function view(companyId: number, id: number) {
    const found = await findView(db, companyId, id);
    if (!found) throw notFound('API key');
    return found;
  }

  return {
    /** The key and its secret; the secret exists only in this answer (the database keeps its SHA-256). */
    async create(principal: Principal, caller: EffectiveAccess, input: CreateApiKeyInput) {
      const name = input.name.trim();
      if (!name) throw invalid([fieldError('name', 'blank', 'must not be blank')]);
      const now = clock.now();
      const expiresAt = input.expires_at === undefined ? null : new Date(input.expires_at);
      if (expiresAt && expiresAt.getTime() <= now.getTime()) {
        throw invalid([fieldError('expires_at', 'not_in_future', 'must be in the future')]);
      }
      const access = await findAccess(db, input.access_id);
      if (!access) throw unprocessable('invalid_reference', 'No access has this id.', 'access_id');
      assertMayGiveKeyAccess(caller, access.code);
      // 256 random bits: the hash alone identifies the key, and no brute force reaches one.
      const secret = `${API_KEY_PREFIX}${randomToken()}`;
      const row = await insertApiKey(db, {
        companyId: caller.companyId,
        accessId: access.id,
        name,
        prefix: secret.slice(0, SHOWN_PREFIX_LENGTH),
        secretHash: sha256(secret),
        createdByUserId: principal.userId,
        createdAt: now,
        expiresAt,
      });
      return { view: await view(caller.companyId, row.id), secret };
    },

    async list(companyId: number, query: PageInput) {
      const limit = query.limit ?? 25;
      const before = decodeCursor(query.cursor, ['id']);
      const rows = await listViews(db, companyId, { beforeId: before?.[0], limit });
      const total = query.count ? await countLive(db, companyId) : undefined;
      return toPage(rows, limit, (row) => [row.key.id], total);
    },

    show: view,

    /** Revoked at once everywhere: key lookups are never cached (authz.service.ts). */
    async revoke(companyId: number, id: number) {
      if (!(await revoke(db, companyId, id, clock.now()))) throw notFound('API key');
    },
  };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;
