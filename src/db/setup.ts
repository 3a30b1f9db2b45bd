import { connectDatabase, type Database } from './client.ts';
import { runMigrations } from './migrate.ts';
import { seedReferenceData } from './reference-data.ts';

/** Connects, applies the committed migrations and upserts reference data: what every start does. */
export async function openDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  databasePoolMax?: number | undefined;
}): Promise<Database> {
  const database = await connectDatabase(options);
  try {
    await prepareDatabase(database);
    return database;
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

export async function prepareDatabase(database: Database): Promise<void> {
  await runMigrations(database);
  await seedReferenceData(database.db);
}
