import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';

/**
 * Lead lists are prepared statements, one per query shape (lead-reads.repository.ts): which filters, which sort, a
 * cursor or not, an agent's scope. Every combination of six filters, four sorts and two callers is listed to its end
 * a few leads a page and compared with the same selection made here, so that no two shapes share a statement and the
 * shapes past a process's prepared ones (built per request) answer the same; each lead listed is the lead its
 * creation answered.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Lead = {
  id: number;
  stage: number;
  source: number;
  assignee: number | null;
  name: string;
  at: Date;
  updated: Date;
};

const SORTS = ['created_at', '-created_at', 'updated_at', '-updated_at'] as const;

describe('every shape of a lead list', () => {
  it('answers what its filters, sort and caller select, page after page', async () => {
    const team = await companyWithTeam(ctx);
    const base = `/api/v1/companies/${team.company.id}/leads`;
    const admin = team.admin.token;
    const stages = (await call(ctx.app, 'GET', '/api/v1/stages', { token: admin })).body_json.stages as Json[];
    const [stageA, stageB] = [stages[0]!.id as number, stages[1]!.id as number];
    const sourceIds: number[] = [];
    for (const name of ['Web', 'Fair']) {
      const made = await call(ctx.app, 'POST', `/api/v1/companies/${team.company.id}/sources`, {
        token: admin,
        body: { name },
      });
      expect(made.statusCode, made.body).toBe(201);
      sourceIds.push(made.body_json.source.id);
    }
    // Twelve leads spread over two stages, two sources, the agent or nobody, two names, one hour apart.
    const made: Lead[] = [];
    const shown = new Map<number, Json>();
    for (let i = 0; i < 12; i++) {
      const lead: Omit<Lead, 'id'> = {
        // Instants of its own for each lead, updated_at in an order other than the ids'.
        updated: new Date(Date.UTC(2026, 1, 1, (i * 7) % 12)),
        stage: i % 2 ? stageB : stageA,
        source: sourceIds[i % 3 === 0 ? 0 : 1]!,
        assignee: i % 4 < 2 ? team.agent.userAccessId : null,
        name: i % 5 < 2 ? 'Marta' : 'Jonas',
        at: new Date(Date.UTC(2026, 0, 1, i)),
      };
      const response = await call(ctx.app, 'POST', base, {
        token: admin,
        body: {
          first_name: lead.name,
          email: `shape.${i}@example.com`,
          stage_id: lead.stage,
          source_id: lead.source,
          assigned_user_access_id: lead.assignee,
        },
      });
      expect(response.statusCode, response.body).toBe(201);
      const id = response.body_json.lead.id as number;
      await ctx.database.db.update(leads).set({ createdAt: lead.at, updatedAt: lead.updated }).where(eq(leads.id, id));
      made.push({ ...lead, id });
      // The lead as its creation answered (read through Drizzle's own mapping), with its new instants.
      shown.set(id, {
        ...response.body_json.lead,
        created_at: lead.at.toISOString(),
        updated_at: lead.updated.toISOString(),
      });
    }

    const filters: [string, string, (lead: Lead) => boolean][] = [
      ['stage_id', String(stageB), (lead) => lead.stage === stageB],
      ['source_id', String(sourceIds[0]), (lead) => lead.source === sourceIds[0]],
      ['assigned_user_access_id', String(team.agent.userAccessId), (lead) => lead.assignee === team.agent.userAccessId],
      ['q', 'marta', (lead) => lead.name === 'Marta'],
      [
        'created_from',
        new Date(Date.UTC(2026, 0, 1, 3)).toISOString(),
        (lead) => lead.at >= new Date(Date.UTC(2026, 0, 1, 3)),
      ],
      [
        'updated_since',
        new Date(Date.UTC(2026, 1, 1, 4)).toISOString(),
        (lead) => lead.updated >= new Date(Date.UTC(2026, 1, 1, 4)),
      ],
    ];
    const callers = [
      { token: admin, sees: () => true },
      { token: team.agent.token, sees: (lead: Lead) => lead.assignee === team.agent.userAccessId },
    ];
    const shapes = new Set<string>();
    for (let mask = 0; mask < 1 << filters.length; mask++) {
      const chosen = filters.filter((_, bit) => mask & (1 << bit));
      for (const sort of SORTS) {
        for (const [who, caller] of callers.entries()) {
          const key = (lead: Lead) => (sort.includes('updated') ? lead.updated : lead.at).getTime();
          const direction = sort.startsWith('-') ? -1 : 1;
          const expected = made
            .filter((lead) => caller.sees(lead) && chosen.every(([, , keep]) => keep(lead)))
            .sort((a, b) => direction * (key(a) - key(b) || a.id - b.id))
            .map((lead) => lead.id);
          const listed: number[] = [];
          let cursor: string | null = null;
          do {
            const query = new URLSearchParams([
              ...chosen.map(([name, value]) => [name, value] as [string, string]),
              ['sort', sort],
              ['limit', '3'],
              ...(cursor ? [['cursor', cursor] as [string, string]] : []),
            ]);
            const page = await call(ctx.app, 'GET', `${base}?${query}`, { token: caller.token });
            expect(page.statusCode, page.body).toBe(200);
            for (const lead of page.body_json.leads) expect(lead).toEqual(shown.get(lead.id));
            listed.push(...page.body_json.leads.map((lead: Json) => lead.id));
            cursor = page.body_json.meta.next_cursor;
            shapes.add(`${mask} ${sort} ${who} ${cursor ? 'next' : 'first'}`);
          } while (cursor && listed.length <= made.length);
          expect(listed, `${query(chosen)} sort=${sort}`).toEqual(expected);
        }
      }
    }
    // More shapes than one process prepares (128): the rest were built per request.
    expect(shapes.size).toBeGreaterThan(128 * 2);
  });
});

const query = (chosen: [string, string, unknown][]) => chosen.map(([name, value]) => `${name}=${value}`).join('&');
