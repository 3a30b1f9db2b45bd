import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  date,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { accesses } from './reference.ts';

export const users = pgTable('users', {
  id: id(),
  firstName: text().notNull(),
  lastName: text().notNull(),
  // Stored normalized (trimmed, lower-case) so the unique constraint is case-insensitive.
  email: text().notNull().unique(),
  passwordHash: text(),
  status: text({ enum: ['pending', 'active', 'inactive'] })
    .notNull()
    .default('active'),
  lang: text().notNull().default('en'),
  theme: text({ enum: ['light', 'dark', 'system'] })
    .notNull()
    .default('system'),
  currency: text().notNull().default('USD'),
  birthdate: date({ mode: 'string' }),
  avatarKey: text(),
  superadmin: boolean().notNull().default(false),
  // Bumped on password reset, password change and deactivation: every token carrying an older version is dead.
  tokenVersion: integer().notNull().default(0),
  onboardingCompletedAt: timestamp({ withTimezone: true }),
  // Null until the owner proves the mailbox (a verification token, an invitation code, a password reset, a verified
  // OpenID Connect identity). An unverified address is never trusted to link an identity or to list invitations.
  emailVerifiedAt: timestamp({ withTimezone: true }),
  // An email change waits here until the new address is confirmed; `email` stays the old one until then.
  pendingEmail: text(),
  // Per-account login throttling: consecutive failures since the last success, and the lock they started.
  failedLogins: integer().notNull().default(0),
  lockedUntil: timestamp({ withTimezone: true }),
  ...timestamps(),
});

export const companies = pgTable(
  'companies',
  {
    id: id(),
    name: text().notNull(),
    default: boolean().notNull().default(false),
    parentCompanyId: ref().references((): AnyPgColumn => companies.id, { onDelete: 'restrict' }),
    country: text(),
    timeZone: text(),
    avatarKey: text(),
    cyclesEnabled: boolean().notNull().default(false),
    ...timestamps(),
  },
  (t) => [index().on(t.parentCompanyId)],
);

export const userAccesses = pgTable(
  'user_accesses',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    accessId: ref()
      .notNull()
      .references(() => accesses.id),
    primary: boolean().notNull().default(false),
    ...timestamps(),
  },
  (t) => [
    unique('user_accesses_user_company_unique').on(t.userId, t.companyId),
    index().on(t.companyId, t.accessId),
    index().on(t.accessId),
    // At most one primary access per user, enforced by the database, not only by the service.
    uniqueIndex('user_accesses_one_primary').on(t.userId).where(sql`"primary"`),
  ],
);

/** One-time password reset tokens; only a SHA-256 of the token is stored. */
export const passwordResets = pgTable(
  'password_resets',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull().unique(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.userId, t.createdAt)],
);

/**
 * One-time email verification tokens (sign-up, a re-send, an email change); only a SHA-256 is stored. `email` is
 * the address the token proves: the current one, or the pending new one of an email change.
 */
export const emailVerifications = pgTable(
  'email_verifications',
  {
    id: id(),
    userId: ref()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    tokenHash: text().notNull().unique(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.userId, t.createdAt)],
);

/** Mail the embedded default keeps instead of sending (no SMTP_URL); `npm run cli -- outbox` shows it. */
export const outboxMessages = pgTable('outbox_messages', {
  id: id(),
  to: text().notNull(),
  subject: text().notNull(),
  text: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
