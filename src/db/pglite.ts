/** The embedded database: PostgreSQL in WebAssembly, in the process (loaded only when DATABASE_URL is unset). */
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { casing, type Database, type Db } from './database.ts';
import * as schema from './schema/index.ts';

export function wrapPglite(client: PGlite): Database {
  const db = drizzlePglite(client, { schema, casing }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    // PGlite is a single connection already.
    withSession: (fn) => fn(db),
    // One connection, in this process: it cannot drop, so it is up as soon as LISTEN ran.
    async listen(channel, onMessage, onState) {
      const unlisten = await client.listen(channel, onMessage);
      onState?.('up');
      return () => unlisten();
    },
    close: () => client.close(),
  };
}

/** PGlite with the contrib extensions the migrations create (PostgreSQL servers ship them in contrib). */
export function createPglite(options: PGliteOptions = {}): Promise<PGlite> {
  return PGlite.create({ ...options, extensions: { pg_trgm, btree_gist } });
}
