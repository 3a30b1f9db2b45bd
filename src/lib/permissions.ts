/**
 * The permission table: what each access (role) may do inside a company and its descendants.
 * Routes name one permission in their policy; src/plugins/auth.ts is the only place that checks it.
 */
export const PERMISSIONS = [
  'companies:read',
  'companies:write',
  'company_users:read',
  'user_accesses:write',
  'invitations:read',
  'invitations:write',
  'memberships:write',
  'leads:read',
  'leads:write',
  'leads:manage',
  'notes:write',
  'appointments:read',
  'appointments:write',
  'sources:read',
  'sources:write',
  'campaigns:read',
  'campaigns:write',
  'questions:read',
  'questions:write',
  'cycles:read',
  'cycles:write',
  'territories:read',
  'territories:write',
  'imports:read',
  'imports:write',
  // API keys and webhooks (API.md "Integrations"): admins only.
  'integrations:manage',
  // The live event stream; agents see only their own leads' events (the events policy narrows it).
  'events:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];
export type AccessCode = 'admin' | 'manager' | 'agent';

/**
 * API.md's roles table: agents read and update the leads assigned to them, their notes and appointments, and read
 * sources, campaigns and questions. Territories are listed to "members" by the endpoint table; cycles (colleagues'
 * names, weights and counts) are for admins and managers only.
 */
const AGENT: Permission[] = [
  'companies:read',
  // Agents read and update their own leads only: the row-level rule lives in the leads policy.
  'leads:read',
  'leads:write',
  'notes:write',
  'appointments:read',
  'appointments:write',
  'sources:read',
  'campaigns:read',
  'questions:read',
  'territories:read',
  'events:read',
];

const MANAGER: Permission[] = [
  ...AGENT,
  'company_users:read',
  'invitations:read',
  // Managers invite agents only; the invitation service narrows this.
  'invitations:write',
  'leads:manage',
  'sources:write',
  'campaigns:write',
  'questions:write',
  'cycles:read',
  'cycles:write',
  'territories:write',
  'imports:read',
  'imports:write',
];

export const ACCESS_PERMISSIONS: Readonly<Record<AccessCode, ReadonlySet<Permission>>> = {
  admin: new Set(PERMISSIONS),
  manager: new Set(MANAGER),
  agent: new Set(AGENT),
};

export function can(code: AccessCode, permission: Permission): boolean {
  return ACCESS_PERMISSIONS[code].has(permission);
}

/** The accesses that may manage other members (see and administer users of the company). */
export const MANAGING_ACCESSES: readonly AccessCode[] = ['admin', 'manager'];

/**
 * Who is calling, as every policy sees them: a signed-in person, or an API key (API.md "Integrations"). A key acts
 * with its access in its company and that company's descendants only; `userId` is then the key's creator, for
 * attribution alone (created_by, activities' actor): the self rules (authz.policies.ts) grant a key nothing of
 * its creator's own, and a key is never staff.
 */
export type Principal = { userId: number; superadmin: boolean; apiKey?: ApiKeyPrincipal | undefined };
export type ApiKeyPrincipal = { id: number; companyId: number; code: AccessCode };

/** The caller's effective access in one company: direct, inherited from an ancestor, or platform staff. */
export type EffectiveAccess = {
  companyId: number;
  code: AccessCode;
  /** The user_access that grants it; null for superadmins without one. */
  userAccessId: number | null;
  inherited: boolean;
  /** The company of that user_access (this one, or the ancestor it is inherited from); null for staff without one. */
  sourceCompanyId: number | null;
  /** Set when the caller is an API key (its id): such an access owns nothing (userAccessId null). */
  apiKeyId?: number | undefined;
};

/** Who acts inside a company: the person and their effective access there. */
export type Actor = { userId: number; access: EffectiveAccess };
