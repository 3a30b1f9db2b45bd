import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/setup.ts';

export const OPENAPI_USAGE =
  'openapi [--out FILE]                    write the OpenAPI document (JSON) to FILE or stdout';

/**
 * The OpenAPI document exactly as `GET /docs/json` serves it, without a running server: the app is built on a
 * throwaway embedded database (its routes are what the document is made of; nothing is queried). The servers URL is
 * PUBLIC_URL's, `http://localhost:3000` by default, so the output depends on nothing else of the machine (the SDK's
 * generated types are checked against it in CI).
 */
export async function openapiDocument(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'leadsy-openapi-'));
  const config = loadConfig({
    PUBLIC_URL: env.PUBLIC_URL ?? 'http://localhost:3000',
    DATA_DIR: dataDir,
    WORKER: 'off',
    LOG_LEVEL: 'silent',
  });
  const database = await openDatabase({ dataDir });
  try {
    const app = await buildApp({ config: { ...config, jwtSecret: 'openapi-document-only' }, database });
    try {
      await app.ready();
      return app.swagger() as unknown as Record<string, unknown>;
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function openapiCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } } });
  const json = `${JSON.stringify(await openapiDocument(), null, 2)}\n`;
  if (values.out) await writeFile(values.out, json);
  else process.stdout.write(json);
}
