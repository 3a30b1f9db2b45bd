import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { accesses, legalTerms, memberships, stages } from './schema/index.ts';

/** Reference data every installation needs. Upserted by code on every start, so editing it here is a deploy. */
export const STAGES = [
  { code: 'new', name: 'New', position: 1, kind: 'open' },
  { code: 'contacted', name: 'Contacted', position: 2, kind: 'open' },
  { code: 'qualified', name: 'Qualified', position: 3, kind: 'open' },
  { code: 'appointment_set', name: 'Appointment set', position: 4, kind: 'open' },
  { code: 'proposal', name: 'Proposal', position: 5, kind: 'open' },
  { code: 'won', name: 'Won', position: 6, kind: 'won' },
  { code: 'lost', name: 'Lost', position: 7, kind: 'lost' },
] as const;

export const ACCESSES = [
  { code: 'admin', name: 'Administrator' },
  { code: 'manager', name: 'Manager' },
  { code: 'agent', name: 'Sales agent' },
] as const;

const MB = 1024 * 1024;
const GB = 1024 * MB;

export const MEMBERSHIPS = [
  // Small on purpose: the free plan is where users meet the limits.
  {
    code: 'free',
    name: 'Free',
    priceCents: 0,
    currency: 'USD',
    interval: 'month',
    maxUsers: 3,
    maxLeadsPerMonth: 500,
    maxInvitationsPerDay: 20,
    maxStorageBytes: 100 * MB,
  },
  {
    code: 'team',
    name: 'Team',
    priceCents: 4900,
    currency: 'USD',
    interval: 'month',
    maxUsers: 15,
    maxLeadsPerMonth: 10_000,
    maxInvitationsPerDay: 100,
    maxStorageBytes: 5 * GB,
  },
  {
    code: 'business',
    name: 'Business',
    priceCents: 19900,
    currency: 'USD',
    interval: 'month',
    maxUsers: 100,
    maxLeadsPerMonth: 250_000,
    maxInvitationsPerDay: 500,
    maxStorageBytes: 50 * GB,
  },
  {
    code: 'enterprise',
    name: 'Enterprise',
    priceCents: 199000,
    currency: 'USD',
    interval: 'year',
    maxUsers: null,
    maxLeadsPerMonth: null,
    maxInvitationsPerDay: 2_000,
    maxStorageBytes: null,
  },
] as const;

export const LEGAL_TERMS = [
  {
    kind: 'terms_of_service',
    version: '2026-01-01',
    title: 'Leadsy Terms of Service',
    body: 'These terms govern the use of Leadsy by companies and their users. By creating an account you agree to use the service lawfully, to keep your credentials secret, and to import only leads you are entitled to contact.',
    publishedAt: new Date('2026-01-01T00:00:00Z'),
  },
  {
    kind: 'privacy',
    version: '2026-01-01',
    title: 'Leadsy Privacy Policy',
    body: 'Leadsy processes the personal data of users and of the leads companies store, only to provide the service. Companies are the controllers of their leads; Leadsy acts as their processor.',
    publishedAt: new Date('2026-01-01T00:00:00Z'),
  },
] as const;

export async function seedReferenceData(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(stages)
      .values([...STAGES])
      .onConflictDoUpdate({
        target: stages.code,
        set: { name: sql`excluded.name`, position: sql`excluded.position`, kind: sql`excluded.kind` },
      });
    await tx
      .insert(accesses)
      .values([...ACCESSES])
      .onConflictDoUpdate({ target: accesses.code, set: { name: sql`excluded.name` } });
    await tx
      .insert(memberships)
      .values([...MEMBERSHIPS])
      .onConflictDoUpdate({
        target: memberships.code,
        set: {
          name: sql`excluded.name`,
          priceCents: sql`excluded.price_cents`,
          currency: sql`excluded.currency`,
          interval: sql`excluded.interval`,
          maxUsers: sql`excluded.max_users`,
          maxLeadsPerMonth: sql`excluded.max_leads_per_month`,
          maxInvitationsPerDay: sql`excluded.max_invitations_per_day`,
          maxStorageBytes: sql`excluded.max_storage_bytes`,
        },
      });
    // Published legal terms are immutable: a new text is a new version, never an edit of an accepted one.
    await tx
      .insert(legalTerms)
      .values([...LEGAL_TERMS])
      .onConflictDoNothing();
  });
}
