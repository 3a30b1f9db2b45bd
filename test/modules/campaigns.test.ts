import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads, questionOptions } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';
import { companyUrl, createCampaign, createQuestion, createSource, fieldsOf, insertLead } from '../helpers/pipeline.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const url = (companyId: number, path = '') => companyUrl(companyId, `campaigns${path}`);
const KEYS = [
  'company_id',
  'created_at',
  'ends_at',
  'id',
  'name',
  'question_ids',
  'source',
  'starts_at',
  'status',
  'updated_at',
];

async function pages(token: string, companyId: number, query: string, limit: number) {
  const seen: Json[] = [];
  let cursor: string | null = null;
  do {
    const suffix: string = cursor ? `&cursor=${cursor}` : '';
    const response = await call(ctx.app, 'GET', url(companyId, `?limit=${limit}${query}${suffix}`), { token });
    expect(response.statusCode, response.body).toBe(200);
    seen.push(...response.body_json.campaigns);
    cursor = response.body_json.meta.next_cursor;
  } while (cursor);
  return seen;
}

describe('POST /companies/{company_id}/campaigns', () => {
  it('creates a campaign with its source, dates and ordered questions', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id, { name: 'Web' });
    const q1 = await createQuestion(ctx, team.admin.token, team.company.id);
    const q2 = await createQuestion(ctx, team.admin.token, team.company.id);
    const campaign = await createCampaign(ctx, team.manager.token, team.company.id, {
      name: '  Black Friday ',
      source_id: source.id,
      status: 'paused',
      starts_at: '2026-11-20T00:00:00Z',
      ends_at: '2026-11-30T23:59:59.000+01:00',
      question_ids: [q2.id, q1.id],
    });
    expect(Object.keys(campaign).sort()).toEqual(KEYS);
    expect(campaign).toMatchObject({
      company_id: team.company.id,
      name: 'Black Friday',
      source: { id: source.id, name: 'Web' },
      status: 'paused',
      starts_at: '2026-11-20T00:00:00.000Z',
      ends_at: '2026-11-30T22:59:59.000Z',
      question_ids: [q2.id, q1.id],
    });
  });

  it('defaults to active, without source, dates or questions', async () => {
    const team = await companyWithTeam(ctx);
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, { name: 'Plain' });
    expect(campaign).toMatchObject({
      status: 'active',
      source: null,
      starts_at: null,
      ends_at: null,
      question_ids: [],
    });
  });

  it('lists every problem at once: foreign or deleted source, bad questions, dates in the wrong order (422)', async () => {
    const team = await companyWithTeam(ctx);
    const foreignSource = await createSource(ctx, team.outsider.token, team.otherCompany.id);
    const own = await createQuestion(ctx, team.admin.token, team.company.id);
    const deleted = await createQuestion(ctx, team.admin.token, team.company.id);
    await call(ctx.app, 'DELETE', companyUrl(team.company.id, `questions/${deleted.id}`), { token: team.admin.token });
    const foreign = await createQuestion(ctx, team.outsider.token, team.otherCompany.id);
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: {
        name: 'Bad',
        source_id: foreignSource.id,
        question_ids: [own.id, foreign.id, deleted.id, own.id, 999_999],
        starts_at: '2026-05-02T00:00:00Z',
        ends_at: '2026-05-01T00:00:00Z',
      },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors.map((e: Json) => [e.field, e.code])).toEqual([
      ['source_id', 'invalid_reference'],
      ['question_ids.1', 'invalid_reference'],
      ['question_ids.2', 'invalid_reference'],
      ['question_ids.3', 'duplicate'],
      ['question_ids.4', 'invalid_reference'],
      ['ends_at', 'before_start'],
    ]);
    const same = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { name: 'Zero', starts_at: '2026-05-01T00:00:00Z', ends_at: '2026-05-01T00:00:00Z' },
    });
    expect(fieldsOf(same)).toEqual(['ends_at']);

    const deletedSource = await createSource(ctx, team.admin.token, team.company.id);
    await call(ctx.app, 'DELETE', companyUrl(team.company.id, `sources/${deletedSource.id}`), {
      token: team.admin.token,
    });
    const gone = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { name: 'Gone', source_id: deletedSource.id },
    });
    expect(gone.statusCode).toBe(422);
    expect(fieldsOf(gone)).toEqual(['source_id']);
    expect(await pages(team.admin.token, team.company.id, '', 100)).toEqual([]);
  });

  it('validates the body shape, every field listed (422)', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { status: 'open', starts_at: 'tomorrow', question_ids: [0], source_id: 'web', company_id: 1 },
    });
    expect(response.statusCode).toBe(422);
    expect(fieldsOf(response)).toEqual(['company_id', 'name', 'question_ids.0', 'source_id', 'starts_at', 'status']);
  });
});

describe('GET /companies/{company_id}/campaigns and /campaigns/{campaign_id}', () => {
  it('lists live campaigns newest first, filtered by status, across keyset pages', async () => {
    const team = await companyWithTeam(ctx);
    const question = await createQuestion(ctx, team.admin.token, team.company.id);
    const created: Json[] = [];
    for (const status of ['active', 'paused', 'active', 'finished', 'active']) {
      created.push(
        await createCampaign(ctx, team.admin.token, team.company.id, { status, question_ids: [question.id] }),
      );
    }
    await call(ctx.app, 'DELETE', url(team.company.id, `/${created[0]!.id}`), { token: team.admin.token });
    await createCampaign(ctx, team.outsider.token, team.otherCompany.id);

    const all = await pages(team.agent.token, team.company.id, '', 2);
    expect(all.map((c) => c.id)).toEqual(
      created
        .slice(1)
        .map((c) => c.id)
        .reverse(),
    );
    expect(all.every((c) => c.question_ids[0] === question.id)).toBe(true);
    const active = await pages(team.agent.token, team.company.id, '&status=active', 1);
    expect(active.map((c) => c.id)).toEqual([created[4]!.id, created[2]!.id]);
    const counted = await call(ctx.app, 'GET', url(team.company.id, '?status=active&count=true'), {
      token: team.admin.token,
    });
    expect(counted.body_json.meta).toEqual({ next_cursor: null, limit: 25, total: 2 });
    const bad = await call(ctx.app, 'GET', url(team.company.id, '?status=open&cursor=x'), { token: team.admin.token });
    expect(bad.statusCode).toBe(422);
  });

  it('shows one campaign; unknown, deleted and foreign ids answer 404', async () => {
    const team = await companyWithTeam(ctx);
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id);
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${campaign.id}`), { token: team.agent.token });
    expect(shown.statusCode).toBe(200);
    expect(shown.body_json.campaign).toEqual(campaign);
    const foreign = await createCampaign(ctx, team.outsider.token, team.otherCompany.id);
    const deleted = await createCampaign(ctx, team.admin.token, team.company.id);
    await call(ctx.app, 'DELETE', url(team.company.id, `/${deleted.id}`), { token: team.admin.token });
    for (const id of [999_999, foreign.id, deleted.id]) {
      expect((await call(ctx.app, 'GET', url(team.company.id, `/${id}`), { token: team.admin.token })).statusCode).toBe(
        404,
      );
    }
  });

  it('still shows a source deleted after the campaign was made', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id, { name: 'Old' });
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, { source_id: source.id });
    await call(ctx.app, 'DELETE', companyUrl(team.company.id, `sources/${source.id}`), { token: team.admin.token });
    const shown = await call(ctx.app, 'GET', url(team.company.id, `/${campaign.id}`), { token: team.admin.token });
    expect(shown.body_json.campaign.source).toEqual({ id: source.id, name: 'Old' });
  });
});

describe('PATCH /companies/{company_id}/campaigns/{campaign_id}', () => {
  const patch = (team: Team, id: number, body: unknown) =>
    call(ctx.app, 'PATCH', url(team.company.id, `/${id}`), { token: team.manager.token, body });

  it('changes only the fields sent; null clears; question_ids replaces the set and drops their campaign options', async () => {
    const team = await companyWithTeam(ctx);
    const source = await createSource(ctx, team.admin.token, team.company.id);
    const choice = { kind: 'single_choice', options: [{ label: 'A' }] };
    const [q1, q2, q3] = [
      await createQuestion(ctx, team.admin.token, team.company.id, choice),
      await createQuestion(ctx, team.admin.token, team.company.id, choice),
      await createQuestion(ctx, team.admin.token, team.company.id),
    ];
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, {
      source_id: source.id,
      starts_at: '2026-01-01T00:00:00Z',
      question_ids: [q1!.id, q2!.id],
    });
    const options = await call(ctx.app, 'PUT', url(team.company.id, `/${campaign.id}/questions/options`), {
      token: team.admin.token,
      body: {
        questions: [
          { question_id: q1!.id, options: [{ label: 'Own 1' }] },
          { question_id: q2!.id, options: [{ label: 'Own 2' }] },
        ],
      },
    });
    expect(options.statusCode, options.body).toBe(200);

    const renamed = await patch(team, campaign.id, { name: 'Renamed', status: 'finished' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.body_json.campaign).toMatchObject({
      name: 'Renamed',
      status: 'finished',
      source: { id: source.id },
      starts_at: '2026-01-01T00:00:00.000Z',
      question_ids: [q1!.id, q2!.id],
    });

    const replaced = await patch(team, campaign.id, {
      source_id: null,
      starts_at: null,
      question_ids: [q3!.id, q2!.id],
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.body_json.campaign).toMatchObject({
      source: null,
      starts_at: null,
      question_ids: [q3!.id, q2!.id],
    });
    const own = await ctx.database.db
      .select({ questionId: questionOptions.questionId })
      .from(questionOptions)
      .where(and(eq(questionOptions.campaignId, campaign.id)));
    expect(own).toEqual([{ questionId: q2!.id }]);
  });

  it('checks the dates against the stored ones and every reference (422), and answers 404 when gone', async () => {
    const team = await companyWithTeam(ctx);
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, {
      starts_at: '2026-06-01T00:00:00Z',
      ends_at: '2026-06-30T00:00:00Z',
    });
    const early = await patch(team, campaign.id, { ends_at: '2026-05-01T00:00:00Z' });
    expect(early.statusCode).toBe(422);
    expect(fieldsOf(early)).toEqual(['ends_at']);
    const late = await patch(team, campaign.id, { starts_at: '2026-07-01T00:00:00Z' });
    expect(fieldsOf(late)).toEqual(['ends_at']);
    const foreign = await createSource(ctx, team.outsider.token, team.otherCompany.id);
    const refs = await patch(team, campaign.id, { source_id: foreign.id, question_ids: [999_999] });
    expect(fieldsOf(refs)).toEqual(['question_ids.0', 'source_id']);
    expect((await patch(team, campaign.id, {})).statusCode).toBe(422);
    const unchanged = await call(ctx.app, 'GET', url(team.company.id, `/${campaign.id}`), { token: team.admin.token });
    expect(unchanged.body_json.campaign).toEqual(campaign);
    expect((await patch(team, 999_999, { name: 'x' })).statusCode).toBe(404);
  });
});

describe('DELETE /companies/{company_id}/campaigns/{campaign_id}', () => {
  it('soft-deletes: leads keep their campaign, it leaves the list, its routes answer 404', async () => {
    const team = await companyWithTeam(ctx);
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id);
    const lead = await insertLead(ctx, team.company.id, { campaignId: campaign.id });
    const response = await call(ctx.app, 'DELETE', url(team.company.id, `/${campaign.id}`), {
      token: team.manager.token,
    });
    expect(response.statusCode).toBe(204);
    const [stored] = await ctx.database.db.select().from(leads).where(eq(leads.id, lead.id));
    expect(stored!.campaignId).toBe(campaign.id);
    expect(await pages(team.admin.token, team.company.id, '', 10)).toEqual([]);
    for (const [method, body] of [
      ['DELETE', undefined],
      ['PATCH', { name: 'x' }],
      ['GET', undefined],
    ] as const) {
      const again = await call(ctx.app, method, url(team.company.id, `/${campaign.id}`), {
        token: team.admin.token,
        body,
      });
      expect(again.statusCode).toBe(404);
    }
  });
});

describe('roles', () => {
  type Role = 'admin' | 'manager' | 'agent' | 'outsider';
  const ROLES: Role[] = ['admin', 'manager', 'agent', 'outsider'];
  const fresh = (team: Team) => createCampaign(ctx, team.admin.token, team.company.id);
  const ROWS: {
    name: string;
    request: (team: Team) => Promise<{ method: string; url: string; body?: Json }>;
    expected: Record<Role, number>;
  }[] = [
    {
      name: 'list',
      request: async (t) => ({ method: 'GET', url: url(t.company.id) }),
      expected: { admin: 200, manager: 200, agent: 200, outsider: 404 },
    },
    {
      name: 'show',
      request: async (t) => ({ method: 'GET', url: url(t.company.id, `/${(await fresh(t)).id}`) }),
      expected: { admin: 200, manager: 200, agent: 200, outsider: 404 },
    },
    {
      name: 'create',
      request: async (t) => ({ method: 'POST', url: url(t.company.id), body: { name: 'C' } }),
      expected: { admin: 201, manager: 201, agent: 403, outsider: 404 },
    },
    {
      name: 'update',
      request: async (t) => ({
        method: 'PATCH',
        url: url(t.company.id, `/${(await fresh(t)).id}`),
        body: { name: 'D' },
      }),
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
    },
    {
      name: 'delete',
      request: async (t) => ({ method: 'DELETE', url: url(t.company.id, `/${(await fresh(t)).id}`) }),
      expected: { admin: 204, manager: 204, agent: 403, outsider: 404 },
    },
  ];

  it('lets admins and managers write, agents read, and hides the company from outsiders', async () => {
    const team = await companyWithTeam(ctx);
    const failures: string[] = [];
    for (const row of ROWS) {
      for (const role of ROLES) {
        const { method, url: target, body } = await row.request(team);
        const response = await call(ctx.app, method as 'GET', target, { token: team[role].token, body });
        if (response.statusCode !== row.expected[role]) {
          failures.push(`${row.name} as ${role}: ${response.statusCode} (expected ${row.expected[role]})`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
