import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenPostgres } from '../../src/db/listen.ts';
import { createAuthzCache } from '../../src/modules/authz/authz.cache.ts';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { cacheProbes, until } from '../helpers/cache-probes.ts';
import { companyWithTeam } from '../helpers/factories.ts';

/**
 * The authorization cache when its PostgreSQL listener fails (PostgreSQL only: PGlite's listener is in-process and
 * cannot drop): a terminated LISTEN connection, and a listener that hears nothing, as behind PgBouncer.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
  await until(() => ctx.app.authzCache.stats().enabled, 5_000);
});
afterAll(() => ctx.close());

const { warm, becomes } = cacheProbes(() => ctx);

describe('authorization cache on PostgreSQL', () => {
  it('survives the loss of its listener connection: off at once, then on again, nothing missed', async () => {
    const { company, agent, manager } = await companyWithTeam(ctx);
    const url = `/api/v1/companies/${company.id}`;
    await warm(agent, url);
    const { listens } = ctx.app.authzCache.stats();
    const killed = await ctx.database.db.execute<{ killed: boolean }>(sql`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where datname = current_database() and query = 'LISTEN "leadsy_authz"'`);
    expect(killed.rows).toEqual([{ killed: true }]);
    // Made while the listener may be down: its notification can be lost, so the cache must not answer for it.
    await ctx.database.db.execute(sql`update users set token_version = token_version + 1 where id = ${agent.id}`);
    await becomes(agent, url, 401);
    const stats = ctx.app.authzCache.stats;
    await until(() => stats().listens > listens && stats().enabled, 5_000, 'the listener back and proven');
    await warm(manager, url);
    await ctx.database.db.execute(sql`delete from user_accesses where id = ${manager.userAccessId}`);
    await becomes(manager, url, 404);
  });

  it('stays off, with one warning, when its listener does not hear the pool (as behind PgBouncer)', async () => {
    const warnings: string[] = [];
    const log = { warn: (_: object, message: string) => warnings.push(message), info: () => {} };
    // LISTEN on another database: NOTIFY is per database, so the pool's probes never reach it, as with a pooler in
    // transaction mode, whose LISTEN lands on a server connection that then serves others.
    const cache = createAuthzCache({
      db: ctx.database.db,
      listen: listenPostgres(process.env.DATABASE_URL!),
      log,
      probeTimeoutMs: 200,
    });
    cache.start();
    try {
      await until(() => warnings.length > 0, 5_000, 'the warning');
      cache.set(cache.ticket(), 'c:1:1', 1, []);
      expect(cache.get('c:1:1')).toBeUndefined();
      expect(cache.stats()).toMatchObject({ enabled: false, size: 0 });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('authorization cache off');
    } finally {
      await cache.close();
    }
  });
});
