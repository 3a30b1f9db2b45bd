import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { connectPostgres } from '../../src/db/client.ts';
import { createPglite, wrapPglite } from '../../src/db/pglite.ts';
import { prepareDatabase } from '../../src/db/setup.ts';
import { adminQuery, databaseUrl, templateName } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
  }
}

/**
 * Compiles the program, and migrates one template database per run; every test file then starts from a copy of it
 * (PGlite: a data-dir dump; PostgreSQL: CREATE DATABASE … TEMPLATE).
 */
export default async function setup(project: TestProject) {
  // The tests that start processes run the compiled program, as `npm start` and `npm run cli` do (incremental: a
  // second run with unchanged sources takes a second or two).
  // Type errors are the typecheck step's to report (tsc emits anyway); the build itself must not stop the tests.
  try {
    execFileSync(join('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { stdio: 'pipe' });
  } catch (error) {
    console.warn(
      `tsc reported errors while building dist/ for the process tests:\n${String((error as { stdout?: unknown }).stdout ?? error)}`,
    );
  }
  const url = process.env.DATABASE_URL;
  if (url) {
    const template = templateName(url);
    await adminQuery(url, `drop database if exists "${template}" with (force)`);
    await adminQuery(url, `create database "${template}"`);
    const database = connectPostgres(databaseUrl(url, template), { max: 1 });
    await prepareDatabase(database);
    await database.close();
    project.provide('pgTemplate', template);
    project.provide('pgliteTemplate', '');
    return async () => {
      await adminQuery(url, `drop database if exists "${template}" with (force)`);
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'leadsy-test-'));
  const client = await createPglite();
  await prepareDatabase(wrapPglite(client));
  const dump = await client.dumpDataDir('none');
  const file = join(dir, 'template.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  await client.close();
  project.provide('pgliteTemplate', file);
  project.provide('pgTemplate', '');
  return () => rmSync(dir, { recursive: true, force: true });
}
