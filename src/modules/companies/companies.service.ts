import type { Db } from '../../db/client.ts';
import { assertValid, fieldError, notFound } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { EffectiveAccess, Principal } from '../../lib/permissions.ts';
import { regionErrors } from '../../lib/region.ts';
import { assertMayMoveCompany } from '../authz/authz.policies.ts';
import { MAX_COMPANY_DEPTH } from '../authz/authz.repository.ts';
import type { AuthzService } from '../authz/authz.service.ts';
import type { LimitsService } from '../limits/limits.service.ts';
import { announceUserAccessCreated } from '../user-accesses/user-access-events.ts';
import {
  companyDepth,
  findAccessByCode,
  findCompany,
  hasPrimaryAccess,
  insertCompany,
  insertCreatorAccess,
  listVisibleCompanies,
  lockHierarchy,
  subtree,
  updateCompany,
} from './companies.repository.ts';
import type { CompanyAccess, CreateCompanyInput, UpdateCompanyInput } from './companies.schemas.ts';

const tooDeep = () =>
  fieldError('parent_company_id', 'too_deep', `company hierarchies are at most ${MAX_COMPANY_DEPTH} levels deep`);

export function createCompaniesService(deps: { db: Db; authz: AuthzService; limits: LimitsService }) {
  const { db } = deps;

  async function describeAccess(access: EffectiveAccess): Promise<CompanyAccess> {
    const row = await findAccessByCode(db, access.code);
    return {
      id: row.id,
      name: row.name,
      code: row.code,
      user_access_id: access.userAccessId,
      inherited: access.inherited,
    };
  }

  return {
    describeAccess,

    /** The plan in force, for the company JSON; `plans` does a whole page in one go. */
    plan: (companyId: number) => deps.limits.planOf(db, companyId),
    plans: (companyIds: number[]) => deps.limits.plansOf(db, companyIds),

    /** The creator becomes the company's admin, in the same transaction; it is their primary if they had none. */
    async create(principal: Principal, input: CreateCompanyInput) {
      const errors = regionErrors(input);
      const parentId = input.parent_company_id ?? null;
      if (parentId !== null) {
        // Creating a child moves a new company under the parent: admin of the parent (404 invisible, 403 not admin).
        await assertMayMoveCompany(db, principal, { from: null, to: parentId });
        if ((await companyDepth(db, parentId)) + 1 >= MAX_COMPANY_DEPTH) errors.push(tooDeep());
      }
      assertValid(errors);
      const admin = await findAccessByCode(db, 'admin');
      return db.transaction(async (tx) => {
        const company = await insertCompany(tx, {
          name: input.name.trim(),
          parentCompanyId: parentId,
          default: input.default ?? false,
          country: input.country,
          timeZone: input.time_zone,
        });
        const primary = !(await hasPrimaryAccess(tx, principal.userId));
        const grantId = await insertCreatorAccess(tx, {
          userId: principal.userId,
          companyId: company.id,
          accessId: admin.id,
          primary,
        });
        await announceUserAccessCreated(tx, company.id, grantId);
        const access = {
          id: admin.id,
          name: admin.name,
          code: admin.code,
          user_access_id: grantId,
          inherited: false,
        };
        return { company, access };
      });
    },

    async list(principal: Principal, query: { limit?: number; cursor?: string }) {
      const limit = query.limit ?? 25;
      const after = decodeCursor(query.cursor, ['id'])?.[0] ?? 0;
      const rows = await listVisibleCompanies(db, principal, after, limit);
      const page = toPage(rows, limit, (row) => [row.company.id]);
      return {
        meta: page.meta,
        items: page.items.map(({ company, access }) => ({
          company,
          access:
            access.access_id === null
              ? null
              : {
                  id: Number(access.access_id),
                  name: String(access.access_name),
                  code: String(access.access_code),
                  user_access_id: access.user_access_id === null ? null : Number(access.user_access_id),
                  inherited: Boolean(access.inherited),
                },
        })),
      };
    },

    async show(companyId: number) {
      const company = await findCompany(db, companyId);
      if (!company) throw notFound('Company');
      return company;
    },

    /** Moving the company (`parent_company_id`) needs admin of the current parent and of the new one. */
    async update(principal: Principal, companyId: number, input: UpdateCompanyInput) {
      const errors = regionErrors(input);
      const parentId = input.parent_company_id;
      return db.transaction(async (tx) => {
        // Moves take turns: two at once could each pass the cycle check and together close a loop, and the
        // parent checked below must still be the parent when the move is written.
        if (parentId !== undefined) await lockHierarchy(tx);
        const existing = await findCompany(tx, companyId);
        if (!existing) throw notFound('Company');
        // Sending the parent it already has moves nothing: no rights in the parent are needed for that.
        const moves = parentId !== undefined && parentId !== existing.parentCompanyId;
        if (moves) await assertMayMoveCompany(tx, principal, { from: existing.parentCompanyId, to: parentId });
        if (moves && parentId !== null) {
          const below = await subtree(tx, companyId, parentId);
          if (below.contains) {
            errors.push(
              fieldError('parent_company_id', 'cycle', 'cannot be the company itself or one of its descendants'),
            );
          } else if ((await companyDepth(tx, parentId)) + 1 + below.height >= MAX_COMPANY_DEPTH) {
            errors.push(tooDeep());
          }
        }
        assertValid(errors);
        const company = await updateCompany(tx, companyId, {
          name: input.name?.trim(),
          parentCompanyId: moves ? parentId : undefined,
          default: input.default,
          country: input.country,
          timeZone: input.time_zone,
        });
        if (!company) throw notFound('Company');
        return company;
      });
    },
  };
}

export type CompaniesService = ReturnType<typeof createCompaniesService>;
