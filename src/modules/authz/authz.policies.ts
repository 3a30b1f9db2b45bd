import type { Executor } from '../../db/client.ts';
import { AppError, forbidden, notFound } from '../../lib/errors.ts';
import {
  type AccessCode,
  type Actor,
  can,
  type EffectiveAccess,
  type Permission,
  type Principal,
} from '../../lib/permissions.ts';
import { findPrincipal, isMemberOfAdministeredCompany, parentOf } from './authz.repository.ts';
import { effectiveAccessIn } from './authz.service.ts';

/**
 * Every resource rule, in one place (as Immich keeps them in its access.ts). Route policies (src/plugins/auth.ts)
 * check one permission of the table in src/lib/permissions.ts in one company; the rules here need more — a person,
 * a resource's owner, several companies — so the services call them: whose profile and own resources a caller
 * reaches, which leads, notes and appointments an agent handles, who may give, change or take away an access, who
 * may move a company. The rules that read the database take the executor of the change they guard, so they run
 * inside that change's transaction.
 */

/**
 * The person themself. An API key acts as its creator for attribution only: it is never anyone's self (nor staff),
 * so it reaches nothing of its creator's own.
 */
export const isSelf = (principal: Principal, userId: number) => !principal.apiKey && principal.userId === userId;

/** A person's own resources (profile, avatar, sign-in providers, accepted terms, accesses): they and platform staff. */
export const isSelfOrStaff = (principal: Principal, userId: number) =>
  (principal.superadmin && !principal.apiKey) || isSelf(principal, userId);

/** Admins and managers handle every lead of the company, with its notes and appointments; agents only their own. */
export const managesLeads = (access: EffectiveAccess) => can(access.code, 'leads:manage');

/** What every lead query starts from: the company, live rows, and the agent's own leads when `ownerId` is set. */
export type LeadScope = { companyId: number; ownerId?: number | undefined };

/** The leads a reader reaches: every lead of the company, or (agents) those assigned to them. */
export function leadScope(access: EffectiveAccess): LeadScope {
  // An agent without a user access here (inherited from a parent company) owns no lead of this company.
  return { companyId: access.companyId, ownerId: managesLeads(access) ? undefined : (access.userAccessId ?? -1) };
}

/** A note is deleted by its author, or by someone who manages the company's leads. */
export const mayDeleteNote = (actor: Actor, note: { authorUserId: number | null }) =>
  (note.authorUserId === actor.userId && actor.access.apiKeyId === undefined) || managesLeads(actor.access);

/** An appointment is handled by the agent it belongs to, or by someone who manages the company's leads. */
export const mayHandleAppointment = (access: EffectiveAccess, appointment: { userAccessId: number | null }) =>
  managesLeads(access) || appointment.userAccessId === access.userAccessId;

const ACCESS_RANK: Record<AccessCode, number> = { agent: 0, manager: 1, admin: 2 };

/** An access is handed to an API key only up to the caller's own: nobody mints a key stronger than themself. */
export function assertMayGiveKeyAccess(caller: EffectiveAccess, code: AccessCode): void {
  if (ACCESS_RANK[code] > ACCESS_RANK[caller.code]) {
    throw forbidden(`Your access in this company does not allow creating ${code} keys.`);
  }
}

/** Changing a direct access in a child would override an admin access inherited from above (see README). */
const inheritedAdmin = () =>
  new AppError(
    403,
    'inherited_admin',
    'Forbidden',
    'This person administers a parent company; only an administrator of the company that access comes from may change their access here.',
  );

/** 404 when the company is missing or invisible to the caller, 403 when visible but `permission` is not granted. */
export async function assertAllowedIn(
  db: Executor,
  principal: Principal,
  companyId: number,
  permission: Permission,
  options: { what?: string; detail?: string } = {},
): Promise<EffectiveAccess> {
  const access = await effectiveAccessIn(db, principal, companyId);
  // 404, not 403: a company the caller cannot see must look like one that does not exist.
  if (!access) throw notFound(options.what ?? 'Company');
  if (!can(access.code, permission)) {
    throw forbidden(options.detail ?? `Your access in this company does not allow ${permission}.`);
  }
  return access;
}

/**
 * Consent to membership: an access is granted only to someone the caller can already see — a member of a company
 * they administer — or by platform staff. Strangers join through invitations, which they accept themselves.
 */
export async function assertMayGrantTo(db: Executor, principal: Principal, userId: number): Promise<void> {
  const visible = principal.superadmin
    ? (await findPrincipal(db, userId)) !== undefined
    : await isMemberOfAdministeredCompany(db, principal.userId, userId);
  // 404, exactly as for an id that does not exist: whether someone has an account is not for strangers to learn.
  if (!visible) throw notFound('User');
}

/**
 * An access inherited from an ancestor cannot be removed from below: a direct access in `companyId` overrides the
 * one inherited from above, so creating, changing or deleting one for a person who administers the parent needs
 * the caller to administer the company that admin access comes from (the parent, or a higher ancestor): the admin
 * of a middle company cannot override the admins of the top of the tree in its children either.
 */
export async function assertNotBelowInheritedAdmin(
  db: Executor,
  principal: Principal,
  userId: number,
  companyId: number,
): Promise<void> {
  if (principal.superadmin) return;
  const parentId = await parentOf(db, companyId);
  if (parentId === null || parentId === undefined) return;
  // Staff rights are not the person's access in this tree: only what they hold here is protected.
  const theirs = await effectiveAccessIn(db, { userId, superadmin: false }, parentId);
  if (theirs?.code !== 'admin') return;
  const mine = await effectiveAccessIn(db, principal, theirs.sourceCompanyId ?? parentId);
  if (mine?.code !== 'admin') throw inheritedAdmin();
}

/** Changing someone's access: admin of its company (404 invisible, 403 not admin), and the rule above. */
export async function assertMayChangeAccess(
  db: Executor,
  principal: Principal,
  access: { userId: number; companyId: number },
): Promise<void> {
  await assertAllowedIn(db, principal, access.companyId, 'user_accesses:write', { what: 'User access' });
  await assertNotBelowInheritedAdmin(db, principal, access.userId, access.companyId);
}

/** Everyone may leave a company whatever their role (the last-admin rule still holds); removing others is a change. */
export async function assertMayRemoveAccess(
  db: Executor,
  principal: Principal,
  access: { userId: number; companyId: number },
): Promise<void> {
  if (isSelf(principal, access.userId)) return;
  await assertMayChangeAccess(db, principal, access);
}

/**
 * Moving a company in the tree changes who inherits access to it, on both sides: the admins of the current
 * parent lose it, those of the new one gain it. So the caller must administer both. The current parent answers
 * 403 even when invisible to the caller: its id is in the company JSON they can already read.
 */
export async function assertMayMoveCompany(
  db: Executor,
  principal: Principal,
  move: { from: number | null; to: number | null },
): Promise<void> {
  if (move.from !== null) {
    const current = await effectiveAccessIn(db, principal, move.from);
    if (!current || !can(current.code, 'companies:write')) {
      throw forbidden('You must administer the current parent company to move or detach this company.');
    }
  }
  if (move.to !== null) {
    await assertAllowedIn(db, principal, move.to, 'companies:write', {
      what: 'Parent company',
      detail: 'You must administer the parent company.',
    });
  }
}
