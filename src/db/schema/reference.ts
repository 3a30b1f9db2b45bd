import { bigint, boolean, index, integer, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { id } from './columns.ts';

/** Pipeline stages: reference data shared by every company, seeded at start. */
export const stages = pgTable('stages', {
  id: id(),
  code: text().notNull().unique(),
  name: text().notNull(),
  position: integer().notNull(),
  kind: text({ enum: ['open', 'won', 'lost'] }).notNull(),
});

/** The roles a user can hold in a company; their permissions live in src/lib/permissions.ts. */
export const accesses = pgTable('accesses', {
  id: id(),
  code: text({ enum: ['admin', 'manager', 'agent'] })
    .notNull()
    .unique(),
  name: text().notNull(),
});

/** Plans ("memberships") a company can subscribe to. */
export const memberships = pgTable('memberships', {
  id: id(),
  code: text().notNull().unique(),
  name: text().notNull(),
  priceCents: integer().notNull(),
  currency: text().notNull(),
  interval: text({ enum: ['month', 'year'] }).notNull(),
  maxUsers: integer(),
  maxLeadsPerMonth: integer(),
  // Invitations a company may send in 24 hours, and each inviter across all companies: a cap on mail volume.
  maxInvitationsPerDay: integer().notNull().default(20),
  // Bytes of import files and kept rejected rows a company may hold; null: unlimited.
  maxStorageBytes: bigint({ mode: 'number' }),
  active: boolean().notNull().default(true),
});

/** Versioned legal documents; the newest published version of each kind is the current one. */
export const legalTerms = pgTable(
  'legal_terms',
  {
    id: id(),
    kind: text({ enum: ['terms_of_service', 'privacy'] }).notNull(),
    version: text().notNull(),
    title: text().notNull(),
    body: text().notNull(),
    publishedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [unique().on(t.kind, t.version), index().on(t.kind, t.publishedAt)],
);
