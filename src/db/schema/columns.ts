import { bigint, timestamp } from 'drizzle-orm/pg-core';

/** Integer ids (PostgreSQL bigint identity), serialized as JSON numbers as the seed shows them. */
export const id = () => bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
export const ref = () => bigint({ mode: 'number' });
export const timestamps = () => ({
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
