import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, ref, timestamps } from './columns.ts';
import { companies, userAccesses } from './identity.ts';
import { sources } from './pipeline.ts';

/**
 * Rotation state lives on the member rows: `current_weight` is smooth weighted round robin's running weight
 * (with equal weights it is strict round robin). A lead insert locks the rotation's members and advances them in
 * its own transaction, so concurrent creations are handed out exactly in turn.
 */
const rotationMember = () => ({
  companyId: ref()
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  userAccessId: ref()
    .notNull()
    .references(() => userAccesses.id, { onDelete: 'cascade' }),
  position: integer().notNull(),
  weight: integer().notNull().default(1),
  currentWeight: bigint({ mode: 'number' }).notNull().default(0),
  assignedCount: bigint({ mode: 'number' }).notNull().default(0),
});

export const cycles = pgTable(
  'cycles',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    sourceId: ref().references(() => sources.id, { onDelete: 'set null' }),
    isDefault: boolean().notNull().default(false),
    ...timestamps(),
  },
  (t) => [
    index().on(t.companyId, t.id),
    uniqueIndex('cycles_one_default').on(t.companyId).where(sql`is_default`),
    uniqueIndex('cycles_one_per_source').on(t.companyId, t.sourceId).where(sql`source_id is not null`),
    index().on(t.sourceId),
  ],
);

export const cycleMembers = pgTable(
  'cycle_members',
  {
    cycleId: ref()
      .notNull()
      .references(() => cycles.id, { onDelete: 'cascade' }),
    ...rotationMember(),
  },
  (t) => [primaryKey({ columns: [t.cycleId, t.userAccessId] }), index().on(t.userAccessId), index().on(t.companyId)],
);

/** Where leads go by location: postal codes (exact, or prefixes written `06*`), else regions, else the country. */
export const territories = pgTable(
  'territories',
  {
    id: id(),
    companyId: ref()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    country: text(),
    regions: text().array().notNull().default(sql`'{}'::text[]`),
    postalCodes: text().array().notNull().default(sql`'{}'::text[]`),
    ...timestamps(),
  },
  (t) => [index().on(t.companyId, t.id)],
);

export const territoryMembers = pgTable(
  'territory_members',
  {
    territoryId: ref()
      .notNull()
      .references(() => territories.id, { onDelete: 'cascade' }),
    ...rotationMember(),
  },
  (t) => [
    primaryKey({ columns: [t.territoryId, t.userAccessId] }),
    index().on(t.userAccessId),
    index().on(t.companyId),
  ],
);
