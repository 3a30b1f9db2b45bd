import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadAnswers, questionOptions, questions } from '../../src/db/schema/index.ts';
import { slugify } from '../../src/modules/questions/question-options.ts';
import { loadQuestionsForAnswers, requiredQuestionIds } from '../../src/modules/questions/questions.repository.ts';
import { MAX_QUESTIONS } from '../../src/modules/questions/questions.schemas.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam } from '../helpers/factories.ts';
import { companyUrl, createCampaign, createQuestion, fieldsOf, insertLead } from '../helpers/pipeline.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;
const url = (companyId: number, path = '') => companyUrl(companyId, `questions${path}`);
const choice = (kind = 'single_choice', labels = ['Small', 'Large']) => ({
  kind,
  options: labels.map((label) => ({ label })),
});

async function listAll(token: string, companyId: number): Promise<Json[]> {
  const response = await call(ctx.app, 'GET', url(companyId, '?limit=100'), { token });
  expect(response.statusCode, response.body).toBe(200);
  return response.body_json.questions as Json[];
}

const valuesOf = (question: Json) => (question.options as Json[]).map((option) => option.value);

describe('POST /companies/{company_id}/questions', () => {
  it('creates every kind, after the last, with the documented JSON', async () => {
    const team = await companyWithTeam(ctx);
    const kinds = ['text', 'number', 'date', 'boolean'];
    const created: Json[] = [];
    for (const kind of kinds) created.push(await createQuestion(ctx, team.admin.token, team.company.id, { kind }));
    created.push(await createQuestion(ctx, team.manager.token, team.company.id, choice('single_choice')));
    created.push(
      await createQuestion(ctx, team.admin.token, team.company.id, { ...choice('multiple_choice'), required: true }),
    );
    expect(created.map((question) => question.priority)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Object.keys(created[4]!).sort()).toEqual(
      ['company_id', 'created_at', 'id', 'kind', 'options', 'priority', 'required', 'title', 'updated_at'].sort(),
    );
    expect(created[0]).toMatchObject({ kind: 'text', required: false, options: [], company_id: team.company.id });
    expect(created[5]).toMatchObject({ kind: 'multiple_choice', required: true });
    expect(created[4]!.options).toEqual([
      { id: expect.any(Number), label: 'Small', value: 'small', score: null, position: 1 },
      { id: expect.any(Number), label: 'Large', value: 'large', score: null, position: 2 },
    ]);
  });

  it('defaults option values to a slug of the label, keeps explicit values and scores', async () => {
    const team = await companyWithTeam(ctx);
    const question = await createQuestion(ctx, team.admin.token, team.company.id, {
      kind: 'single_choice',
      options: [
        { label: '  Más de 10 años ', score: 10 },
        { label: 'Menos de 1', value: 'lt1', score: -2 },
        { label: '日本 office' },
      ],
    });
    expect(question.options.map((o: Json) => [o.label, o.value, o.score])).toEqual([
      ['Más de 10 años', 'mas_de_10_anos', 10],
      ['Menos de 1', 'lt1', -2],
      ['日本 office', '日本_office', null],
    ]);
    expect(slugify('¿Qué tal?')).toBe('que_tal');
  });

  it('refuses options on non-choice kinds, choice kinds without options and repeated values (422)', async () => {
    const team = await companyWithTeam(ctx);
    const post = (body: Json) =>
      call(ctx.app, 'POST', url(team.company.id), { token: team.admin.token, body: { title: 'Q', ...body } });
    const withOptions = await post({ kind: 'text', options: [{ label: 'A' }] });
    expect(withOptions.statusCode).toBe(422);
    expect(withOptions.body_json.errors).toEqual([expect.objectContaining({ field: 'options', code: 'not_allowed' })]);
    for (const options of [undefined, []]) {
      const none = await post({ kind: 'multiple_choice', ...(options ? { options } : {}) });
      expect(none.statusCode).toBe(422);
      expect(none.body_json.errors).toEqual([expect.objectContaining({ field: 'options', code: 'required' })]);
    }
    const repeated = await post({
      kind: 'single_choice',
      options: [{ label: 'Yes' }, { label: 'YES!', value: 'other' }, { label: 'yes' }, { label: '???' }],
    });
    expect(repeated.statusCode).toBe(422);
    expect(repeated.body_json.errors).toEqual([
      expect.objectContaining({ field: 'options.2.value', code: 'duplicate' }),
      expect.objectContaining({ field: 'options.3.value', code: 'required' }),
    ]);
    expect(await listAll(team.admin.token, team.company.id)).toEqual([]);
  });

  it(`refuses more than ${MAX_QUESTIONS} live questions (422)`, async () => {
    const team = await companyWithTeam(ctx);
    await ctx.database.db.insert(questions).values(
      Array.from({ length: MAX_QUESTIONS }, (_, index) => ({
        companyId: team.company.id,
        title: `Bulk ${index}`,
        kind: 'text' as const,
        priority: index + 1,
      })),
    );
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { title: 'One more', kind: 'text' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.code).toBe('too_many_questions');
  });

  it('lists every invalid field at once (422)', async () => {
    const team = await companyWithTeam(ctx);
    const response = await call(ctx.app, 'POST', url(team.company.id), {
      token: team.admin.token,
      body: { kind: 'essay', required: 'yes', options: [{ value: 'a', score: 1.5 }], extra: 1 },
    });
    expect(response.statusCode).toBe(422);
    expect(fieldsOf(response)).toEqual(['extra', 'kind', 'options.0.label', 'options.0.score', 'required', 'title']);
  });
});

describe('GET /companies/{company_id}/questions and /questions/{question_id}', () => {
  it('orders by priority then id, with their options, across keyset pages', async () => {
    const team = await companyWithTeam(ctx);
    const created: Json[] = [];
    for (let index = 0; index < 5; index++) {
      created.push(await createQuestion(ctx, team.admin.token, team.company.id, { title: `Q${index}`, ...choice() }));
    }
    await createQuestion(ctx, team.admin.token, team.company.id, { title: 'First', priority: 1 });
    const all = await listAll(team.agent.token, team.company.id);
    expect(all.map((question) => question.title)).toEqual(['First', 'Q0', 'Q1', 'Q2', 'Q3', 'Q4']);
    expect(all.map((question) => question.priority)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(valuesOf(all[3]!)).toEqual(['small', 'large']);

    const paged: Json[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=4&count=true${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call(ctx.app, 'GET', url(team.company.id, query), { token: team.agent.token });
      expect(page.statusCode).toBe(200);
      expect(page.body_json.meta.total).toBe(6);
      paged.push(...page.body_json.questions);
      cursor = page.body_json.meta.next_cursor;
    } while (cursor);
    expect(paged).toEqual(all);

    const one = await call(ctx.app, 'GET', url(team.company.id, `/${created[1]!.id}`), { token: team.agent.token });
    expect(one.statusCode).toBe(200);
    expect(one.body_json.question).toEqual(all[2]);
  });

  it("answers 404 for unknown, deleted and other companies' questions", async () => {
    const team = await companyWithTeam(ctx);
    const foreign = await createQuestion(ctx, team.outsider.token, team.otherCompany.id);
    const deleted = await createQuestion(ctx, team.admin.token, team.company.id);
    await call(ctx.app, 'DELETE', url(team.company.id, `/${deleted.id}`), { token: team.admin.token });
    for (const id of [999_999, foreign.id, deleted.id]) {
      const response = await call(ctx.app, 'GET', url(team.company.id, `/${id}`), { token: team.admin.token });
      expect(response.statusCode).toBe(404);
    }
    expect(await listAll(team.admin.token, team.company.id)).toEqual([]);
  });
});

describe('PATCH /companies/{company_id}/questions/{question_id}', () => {
  const patch = (team: Team, id: number, body: unknown) =>
    call(ctx.app, 'PATCH', url(team.company.id, `/${id}`), { token: team.manager.token, body });

  it('changes the title, the flag, the priority and replaces the company options', async () => {
    const team = await companyWithTeam(ctx);
    const first = await createQuestion(ctx, team.admin.token, team.company.id, { title: 'First' });
    const question = await createQuestion(ctx, team.admin.token, team.company.id, choice());
    const response = await patch(team, question.id, {
      title: ' Team size ',
      required: true,
      priority: 1,
      options: [
        { label: 'One', score: 1 },
        { label: 'Many', value: 'n' },
      ],
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body_json.question).toMatchObject({ title: 'Team size', required: true, priority: 1 });
    expect(valuesOf(response.body_json.question)).toEqual(['one', 'n']);
    const titles = (await listAll(team.admin.token, team.company.id)).map((q) => q.title);
    expect(titles).toEqual(['Team size', first.title]);
    // Sending only the title keeps the options.
    const renamed = await patch(team, question.id, { title: 'Again' });
    expect(valuesOf(renamed.body_json.question)).toEqual(['one', 'n']);
  });

  it('changes the kind while unanswered: options kept between choice kinds, required to become one, dropped after', async () => {
    const team = await companyWithTeam(ctx);
    const question = await createQuestion(ctx, team.admin.token, team.company.id, choice());
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, { question_ids: [question.id] });
    await call(ctx.app, 'PUT', companyUrl(team.company.id, `campaigns/${campaign.id}/questions/options`), {
      token: team.admin.token,
      body: { questions: [{ question_id: question.id, options: [{ label: 'Own' }] }] },
    });
    const multiple = await patch(team, question.id, { kind: 'multiple_choice' });
    expect(multiple.statusCode).toBe(200);
    expect(valuesOf(multiple.body_json.question)).toEqual(['small', 'large']);

    const text = await patch(team, question.id, { kind: 'text' });
    expect(text.statusCode).toBe(200);
    expect(text.body_json.question.options).toEqual([]);
    const stored = await ctx.database.db
      .select()
      .from(questionOptions)
      .where(eq(questionOptions.questionId, question.id));
    expect(stored).toEqual([]);

    const bare = await patch(team, question.id, { kind: 'single_choice' });
    expect(bare.statusCode).toBe(422);
    expect(bare.body_json.errors).toEqual([expect.objectContaining({ field: 'options', code: 'required' })]);
    const back = await patch(team, question.id, { kind: 'single_choice', options: [{ label: 'Yes' }] });
    expect(back.statusCode).toBe(200);
    expect(valuesOf(back.body_json.question)).toEqual(['yes']);
  });

  it('refuses a kind change once answered, options on a non-choice kind, empty options on a choice (422)', async () => {
    const team = await companyWithTeam(ctx);
    const answered = await createQuestion(ctx, team.admin.token, team.company.id, { kind: 'number' });
    await insertLead(ctx, team.company.id, { answers: [{ questionId: answered.id, value: 3 }] });
    const kind = await patch(team, answered.id, { kind: 'single_choice', options: [{ label: 'A' }, { label: 'a' }] });
    expect(kind.statusCode).toBe(422);
    expect(kind.body_json.errors).toEqual([
      expect.objectContaining({ field: 'kind', code: 'question_answered' }),
      expect.objectContaining({ field: 'options.1.value', code: 'duplicate' }),
    ]);
    const options = await patch(team, answered.id, { options: [{ label: 'A' }] });
    expect(options.statusCode).toBe(422);
    expect(fieldsOf(options)).toEqual(['options']);
    expect((await patch(team, answered.id, { title: 'Still fine', kind: 'number' })).statusCode).toBe(200);

    const question = await createQuestion(ctx, team.admin.token, team.company.id, choice());
    expect((await patch(team, question.id, { options: [] })).statusCode).toBe(422);
    expect((await patch(team, question.id, {})).statusCode).toBe(422);
    expect((await patch(team, 999_999, { title: 'x' })).statusCode).toBe(404);
    const unchanged = await call(ctx.app, 'GET', url(team.company.id, `/${answered.id}`), { token: team.admin.token });
    expect(unchanged.body_json.question).toMatchObject({ kind: 'number', title: 'Still fine' });
  });
});

describe('DELETE /companies/{company_id}/questions/{question_id}', () => {
  it('soft-deletes: answers stay, the question leaves lists and campaigns, its routes answer 404', async () => {
    const team = await companyWithTeam(ctx);
    const question = await createQuestion(ctx, team.admin.token, team.company.id);
    const other = await createQuestion(ctx, team.admin.token, team.company.id);
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, {
      question_ids: [question.id, other.id],
    });
    const lead = await insertLead(ctx, team.company.id, { answers: [{ questionId: question.id, value: 'ten' }] });
    const response = await call(ctx.app, 'DELETE', url(team.company.id, `/${question.id}`), {
      token: team.manager.token,
    });
    expect(response.statusCode).toBe(204);
    const answers = await ctx.database.db.select().from(leadAnswers).where(eq(leadAnswers.leadId, lead.id));
    expect(answers).toHaveLength(1);
    expect((await listAll(team.admin.token, team.company.id)).map((q) => q.id)).toEqual([other.id]);
    const shown = await call(ctx.app, 'GET', companyUrl(team.company.id, `campaigns/${campaign.id}`), {
      token: team.admin.token,
    });
    expect(shown.body_json.campaign.question_ids).toEqual([other.id]);
    for (const [method, body] of [
      ['DELETE', undefined],
      ['PATCH', { title: 'x' }],
    ] as const) {
      const again = await call(ctx.app, method, url(team.company.id, `/${question.id}`), {
        token: team.admin.token,
        body,
      });
      expect(again.statusCode).toBe(404);
    }
  });
});

describe('PUT /companies/{company_id}/questions/priority', () => {
  it('sets the whole order; refuses foreign, deleted, repeated and missing ids without changing anything', async () => {
    const team = await companyWithTeam(ctx);
    const ids: number[] = [];
    for (const title of ['A', 'B', 'C'])
      ids.push((await createQuestion(ctx, team.admin.token, team.company.id, { title })).id);
    const [a, b, c] = ids as [number, number, number];
    const reorder = (body: unknown) =>
      call(ctx.app, 'PUT', url(team.company.id, '/priority'), { token: team.admin.token, body });
    const ok = await reorder({ question_ids: [b, c, a] });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.body_json.questions.map((q: Json) => [q.title, q.priority])).toEqual([
      ['B', 1],
      ['C', 2],
      ['A', 3],
    ]);

    const foreign = (await createQuestion(ctx, team.outsider.token, team.otherCompany.id)).id;
    const deleted = (await createQuestion(ctx, team.admin.token, team.company.id)).id;
    await call(ctx.app, 'DELETE', url(team.company.id, `/${deleted}`), { token: team.admin.token });
    const before = await listAll(team.admin.token, team.company.id);
    const cases: [number[], string[]][] = [
      [[a, b, c, foreign], ['question_ids.3']],
      [[a, b, c, deleted], ['question_ids.3']],
      [[a, b, b, c], ['question_ids.2']],
      [[a, b], ['question_ids']],
    ];
    for (const [list, fields] of cases) {
      const response = await reorder({ question_ids: list });
      expect(response.statusCode, JSON.stringify(list)).toBe(422);
      expect(fieldsOf(response)).toEqual(fields);
    }
    expect(await listAll(team.admin.token, team.company.id)).toEqual(before);
  });
});

describe('campaign questions', () => {
  const campaignUrl = (team: Team, campaignId: number, path = '') =>
    companyUrl(team.company.id, `campaigns/${campaignId}/questions${path}`);

  async function setup() {
    const team = await companyWithTeam(ctx);
    const size = await createQuestion(ctx, team.admin.token, team.company.id, { title: 'Size', ...choice() });
    const tools = await createQuestion(ctx, team.admin.token, team.company.id, {
      title: 'Tools',
      ...choice('multiple_choice', ['CRM', 'ERP']),
    });
    const notes = await createQuestion(ctx, team.admin.token, team.company.id, { title: 'Notes', kind: 'text' });
    const outside = await createQuestion(ctx, team.admin.token, team.company.id, { title: 'Outside', ...choice() });
    const campaign = await createCampaign(ctx, team.admin.token, team.company.id, {
      question_ids: [tools.id, notes.id, size.id],
    });
    return { team, size, tools, notes, outside, campaign };
  }

  const list = async (team: Team, campaignId: number, token = team.agent.token) => {
    const response = await call(ctx.app, 'GET', campaignUrl(team, campaignId), { token });
    expect(response.statusCode, response.body).toBe(200);
    return response.body_json.questions as Json[];
  };

  it('lists the campaign questions in campaign order, with the company options by default', async () => {
    const { team, size, tools, notes, campaign } = await setup();
    const questions = await list(team, campaign.id);
    expect(questions.map((q) => [q.id, q.options_source])).toEqual([
      [tools.id, 'company'],
      [notes.id, 'company'],
      [size.id, 'company'],
    ]);
    expect(valuesOf(questions[0]!)).toEqual(['crm', 'erp']);
    expect(questions[1]!.options).toEqual([]);
  });

  it('replaces the options of several questions at once; an empty list restores the company options', async () => {
    const { team, size, tools, campaign } = await setup();
    const put = (body: Json) =>
      call(ctx.app, 'PUT', campaignUrl(team, campaign.id, '/options'), { token: team.manager.token, body });
    const response = await put({
      questions: [
        {
          question_id: size.id,
          options: [
            { label: 'Solo', score: 1 },
            { label: 'Huge', value: 'xl', score: 9 },
          ],
        },
        { question_id: tools.id, options: [{ label: 'Spreadsheet' }] },
      ],
    });
    expect(response.statusCode, response.body).toBe(200);
    const byId = new Map((response.body_json.questions as Json[]).map((q) => [q.id, q]));
    expect(byId.get(size.id)).toMatchObject({ options_source: 'campaign' });
    expect(byId.get(size.id)!.options.map((o: Json) => [o.value, o.score, o.position])).toEqual([
      ['solo', 1, 1],
      ['xl', 9, 2],
    ]);
    expect(valuesOf(byId.get(tools.id)!)).toEqual(['spreadsheet']);
    expect(await list(team, campaign.id)).toEqual(response.body_json.questions);
    // The company options are untouched.
    const company = await call(ctx.app, 'GET', url(team.company.id, `/${size.id}`), { token: team.admin.token });
    expect(valuesOf(company.body_json.question)).toEqual(['small', 'large']);

    const restored = await put({ questions: [{ question_id: size.id, options: [] }] });
    expect(restored.statusCode).toBe(200);
    const after = new Map((restored.body_json.questions as Json[]).map((q) => [q.id, q]));
    expect(after.get(size.id)).toMatchObject({ options_source: 'company' });
    expect(valuesOf(after.get(size.id)!)).toEqual(['small', 'large']);
    expect(after.get(tools.id)).toMatchObject({ options_source: 'campaign' });
  });

  it('is all or nothing: any invalid entry answers 422 with its index, and nothing changes', async () => {
    const { team, size, tools, notes, outside, campaign } = await setup();
    const foreign = await createQuestion(ctx, team.outsider.token, team.otherCompany.id, choice());
    const before = await list(team, campaign.id);
    const response = await call(ctx.app, 'PUT', campaignUrl(team, campaign.id, '/options'), {
      token: team.admin.token,
      body: {
        questions: [
          { question_id: size.id, options: [{ label: 'Fine' }] },
          { question_id: notes.id, options: [{ label: 'A' }] },
          { question_id: outside.id, options: [{ label: 'B' }] },
          { question_id: foreign.id, options: [{ label: 'C' }] },
          { question_id: tools.id, options: [{ label: 'Same' }, { label: 'same' }] },
          { question_id: size.id, options: [{ label: 'Twice' }] },
        ],
      },
    });
    expect(response.statusCode).toBe(422);
    expect(response.body_json.errors.map((e: Json) => [e.field, e.code])).toEqual([
      ['questions.1.question_id', 'not_choice'],
      ['questions.2.question_id', 'not_in_campaign'],
      ['questions.3.question_id', 'not_in_campaign'],
      ['questions.4.options.1.value', 'duplicate'],
      ['questions.5.question_id', 'duplicate'],
    ]);
    expect(await list(team, campaign.id)).toEqual(before);

    const schema = await call(ctx.app, 'PUT', campaignUrl(team, campaign.id, '/options'), {
      token: team.admin.token,
      body: { questions: [{ question_id: 'x', options: [{ label: '' }] }] },
    });
    expect(schema.statusCode).toBe(422);
    expect(fieldsOf(schema)).toEqual(['questions.0.options.0.label', 'questions.0.question_id']);
    const empty = await call(ctx.app, 'PUT', campaignUrl(team, campaign.id, '/options'), {
      token: team.admin.token,
      body: { questions: [] },
    });
    expect(empty.statusCode).toBe(422);
  });

  it('answers 404 for unknown, deleted and foreign campaigns; agents read but may not write', async () => {
    const { team, size, campaign } = await setup();
    const foreign = await createCampaign(ctx, team.outsider.token, team.otherCompany.id);
    const body = { questions: [{ question_id: size.id, options: [{ label: 'X' }] }] };
    const agentPut = await call(ctx.app, 'PUT', campaignUrl(team, campaign.id, '/options'), {
      token: team.agent.token,
      body,
    });
    expect(agentPut.statusCode).toBe(403);
    await call(ctx.app, 'DELETE', companyUrl(team.company.id, `campaigns/${campaign.id}`), { token: team.admin.token });
    for (const id of [999_999, foreign.id, campaign.id]) {
      expect((await call(ctx.app, 'GET', campaignUrl(team, id), { token: team.admin.token })).statusCode).toBe(404);
      const put = await call(ctx.app, 'PUT', campaignUrl(team, id, '/options'), { token: team.admin.token, body });
      expect(put.statusCode).toBe(404);
    }
    const outsider = await call(ctx.app, 'GET', campaignUrl(team, foreign.id), { token: team.outsider.token });
    expect(outsider.statusCode).toBe(404);
  });
});

describe('answer validation helpers (used by the leads module)', () => {
  it('loads kinds, flags and the option values that apply, and the required questions with or without a campaign', async () => {
    const team = await companyWithTeam(ctx);
    const companyId = team.company.id;
    const size = await createQuestion(ctx, team.admin.token, companyId, { ...choice(), required: true });
    const tools = await createQuestion(ctx, team.admin.token, companyId, choice('multiple_choice', ['CRM']));
    const age = await createQuestion(ctx, team.admin.token, companyId, { kind: 'number', required: true });
    const deleted = await createQuestion(ctx, team.admin.token, companyId, { required: true });
    await call(ctx.app, 'DELETE', url(companyId, `/${deleted.id}`), { token: team.admin.token });
    const foreign = await createQuestion(ctx, team.outsider.token, team.otherCompany.id, { required: true });
    const campaign = await createCampaign(ctx, team.admin.token, companyId, { question_ids: [size.id, tools.id] });
    await call(ctx.app, 'PUT', companyUrl(companyId, `campaigns/${campaign.id}/questions/options`), {
      token: team.admin.token,
      body: { questions: [{ question_id: size.id, options: [{ label: 'Own' }] }] },
    });
    const db = ctx.database.db;
    const ids = [size.id, tools.id, age.id, deleted.id, foreign.id, size.id];

    const plain = await loadQuestionsForAnswers(db, companyId, ids, null);
    expect([...plain.keys()].sort()).toEqual([size.id, tools.id, age.id].sort());
    expect(plain.get(size.id)).toEqual({
      id: size.id,
      kind: 'single_choice',
      required: true,
      allowedValues: new Set(['small', 'large']),
    });
    expect(plain.get(age.id)!.allowedValues.size).toBe(0);

    const inCampaign = await loadQuestionsForAnswers(db, companyId, ids, campaign.id);
    expect(inCampaign.get(size.id)!.allowedValues).toEqual(new Set(['own']));
    expect(inCampaign.get(tools.id)!.allowedValues).toEqual(new Set(['crm']));
    expect((await loadQuestionsForAnswers(db, companyId, [], null)).size).toBe(0);

    expect((await requiredQuestionIds(db, companyId, null)).sort()).toEqual([size.id, age.id].sort());
    expect(await requiredQuestionIds(db, companyId, campaign.id)).toEqual([size.id]);
    expect(await requiredQuestionIds(db, team.otherCompany.id, campaign.id)).toEqual([]);
  });
});

describe('roles', () => {
  type Role = 'admin' | 'manager' | 'agent' | 'outsider';
  const ROLES: Role[] = ['admin', 'manager', 'agent', 'outsider'];
  const fresh = (team: Team) => createQuestion(ctx, team.admin.token, team.company.id);
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
      request: async (t) => ({ method: 'POST', url: url(t.company.id), body: { title: 'Q', kind: 'boolean' } }),
      expected: { admin: 201, manager: 201, agent: 403, outsider: 404 },
    },
    {
      name: 'update',
      request: async (t) => ({
        method: 'PATCH',
        url: url(t.company.id, `/${(await fresh(t)).id}`),
        body: { required: true },
      }),
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
    },
    {
      name: 'delete',
      request: async (t) => ({ method: 'DELETE', url: url(t.company.id, `/${(await fresh(t)).id}`) }),
      expected: { admin: 204, manager: 204, agent: 403, outsider: 404 },
    },
    {
      name: 'reorder',
      request: async (t) => {
        const ids = (await listAll(t.admin.token, t.company.id)).map((q) => q.id);
        return { method: 'PUT', url: url(t.company.id, '/priority'), body: { question_ids: ids.reverse() } };
      },
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
    },
    {
      name: 'campaign questions',
      request: async (t) => {
        const campaign = await createCampaign(ctx, t.admin.token, t.company.id);
        return { method: 'GET', url: companyUrl(t.company.id, `campaigns/${campaign.id}/questions`) };
      },
      expected: { admin: 200, manager: 200, agent: 200, outsider: 404 },
    },
    {
      name: 'campaign options',
      request: async (t) => {
        const question = await createQuestion(ctx, t.admin.token, t.company.id, choice());
        const campaign = await createCampaign(ctx, t.admin.token, t.company.id, { question_ids: [question.id] });
        return {
          method: 'PUT',
          url: companyUrl(t.company.id, `campaigns/${campaign.id}/questions/options`),
          body: { questions: [{ question_id: question.id, options: [{ label: 'X' }] }] },
        };
      },
      expected: { admin: 200, manager: 200, agent: 403, outsider: 404 },
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
