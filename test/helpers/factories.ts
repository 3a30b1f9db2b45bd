import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Static } from 'typebox';
import {
  accesses,
  companies,
  cycleMembers,
  cycles,
  memberships,
  subscriptions,
  userAccesses,
  users,
} from '../../src/db/schema/index.ts';
import { hashPassword } from '../../src/lib/passwords.ts';
import type { AccessCode } from '../../src/lib/permissions.ts';
import { TokenJson } from '../../src/modules/auth/auth.schemas.ts';
import { CompanyEnvelope, type CompanyJson } from '../../src/modules/companies/companies.schemas.ts';
import { answer } from './answers.ts';
import { call, type Json, type TestContext } from './app.ts';

export type Company = Static<typeof CompanyJson>;

export const PASSWORD = 'correct horse battery staple';
let passwordHash: Promise<string> | undefined;

export type TestUser = { id: number; email: string; token: string };

export const uniqueEmail = (prefix = 'user') => `${prefix}.${randomBytes(5).toString('hex')}@example.com`;

/** A user inserted directly (fast), then signed in through the real login route. */
export async function createUser(
  ctx: TestContext,
  overrides: Partial<typeof users.$inferInsert> = {},
): Promise<TestUser> {
  passwordHash ??= hashPassword(PASSWORD);
  const [row] = await ctx.database.db
    .insert(users)
    .values({
      firstName: 'Test',
      lastName: 'User',
      email: uniqueEmail(),
      passwordHash: await passwordHash,
      ...overrides,
    })
    .returning();
  const login = await call(ctx.app, 'POST', '/api/v1/users/login', { body: { email: row!.email, password: PASSWORD } });
  return { id: row!.id, email: row!.email, token: answer(login, 200, TokenJson).token };
}

/** A company created through the API by `owner`, who becomes its admin: typed as its route answers it. */
export async function createCompany(ctx: TestContext, owner: TestUser, body: Json = {}): Promise<Company> {
  const response = await call(ctx.app, 'POST', '/api/v1/companies', {
    token: owner.token,
    body: { name: `Company ${randomBytes(3).toString('hex')}`, ...body },
  });
  return answer(response, 201, CompanyEnvelope).company;
}

export async function accessId(ctx: TestContext, code: AccessCode): Promise<number> {
  const [row] = await ctx.database.db.select().from(accesses).where(eq(accesses.code, code));
  return row!.id;
}

/** Gives `user` an access in `companyId` directly in the database; returns the user_access id. */
export async function grant(ctx: TestContext, user: TestUser, companyId: number, code: AccessCode): Promise<number> {
  const [row] = await ctx.database.db
    .insert(userAccesses)
    .values({ userId: user.id, companyId, accessId: await accessId(ctx, code) })
    .returning();
  return row!.id;
}

/** A new user holding `code` in the company. */
export async function member(ctx: TestContext, companyId: number, code: AccessCode) {
  const user = await createUser(ctx);
  const userAccessId = await grant(ctx, user, companyId, code);
  return { ...user, userAccessId };
}

/** Puts the company on a plan directly (the free plan's 3 seats are too few for most tests). */
export async function subscribe(ctx: TestContext, companyId: number, code = 'business'): Promise<void> {
  const [plan] = await ctx.database.db.select().from(memberships).where(eq(memberships.code, code));
  const now = ctx.clock.now();
  await ctx.database.db.insert(subscriptions).values({
    companyId,
    membershipId: plan!.id,
    status: 'active',
    currentPeriodStart: now,
    currentPeriodEnd: new Date(now.getTime() + 365 * 86_400_000),
  });
}

/** A company with an admin (its creator), a manager, an agent, and an outsider who owns another company. */
export async function companyWithTeam(ctx: TestContext) {
  const admin = await createUser(ctx);
  const company = await createCompany(ctx, admin);
  await subscribe(ctx, company.id);
  const manager = await member(ctx, company.id, 'manager');
  const agent = await member(ctx, company.id, 'agent');
  const outsider = await createUser(ctx);
  const otherCompany = await createCompany(ctx, outsider);
  await subscribe(ctx, otherCompany.id);
  return { company, admin, manager, agent, outsider, otherCompany };
}

/**
 * A company on a plan without a monthly limit, cycles on, and a default round-robin cycle of `agents` agents:
 * leads that arrive without an assignee go to them in turn.
 */
export async function roundRobinCompany(ctx: TestContext, agents: number, values: { country?: string } = {}) {
  const admin = await createUser(ctx);
  const company = await createCompany(ctx, admin);
  await subscribe(ctx, company.id, 'enterprise');
  await ctx.database.db
    .update(companies)
    .set({ cyclesEnabled: true, ...values })
    .where(eq(companies.id, company.id));
  const members = [];
  for (let i = 0; i < agents; i++) members.push(await member(ctx, company.id, 'agent'));
  const [cycle] = await ctx.database.db
    .insert(cycles)
    .values({ companyId: company.id, name: 'Everyone', isDefault: true })
    .returning();
  await ctx.database.db.insert(cycleMembers).values(
    members.map((agent, position) => ({
      cycleId: cycle!.id,
      companyId: company.id,
      userAccessId: agent.userAccessId,
      position,
    })),
  );
  return { admin, company, agents: members };
}
