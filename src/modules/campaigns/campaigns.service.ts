import type { Db, Executor } from '../../db/client.ts';
import { type FieldError, fieldError, invalid, notFound } from '../../lib/errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { findSource } from '../sources/sources.repository.ts';
import {
  type CampaignValues,
  type CampaignWithSource,
  countCampaigns,
  findCampaign,
  insertCampaign,
  listCampaigns,
  liveQuestionIdsAmong,
  lockCampaign,
  questionIdsOf,
  replaceQuestions,
  softDeleteCampaign,
  updateCampaign,
} from './campaigns.repository.ts';
import type {
  CampaignView,
  CreateCampaignInput,
  ListCampaignsInput,
  UpdateCampaignInput,
} from './campaigns.schemas.ts';

type References = Pick<CreateCampaignInput, 'source_id' | 'question_ids'>;

const toDate = (value: string | null | undefined) =>
  value === undefined ? undefined : value === null ? null : new Date(value);

/** Campaign rows with their question ids: one extra query for any number of campaigns. */
async function withQuestionIds(db: Executor, companyId: number, rows: CampaignWithSource[]): Promise<CampaignView[]> {
  const links = await questionIdsOf(
    db,
    companyId,
    rows.map((row) => row.campaign.id),
  );
  return rows.map((row) => ({
    ...row,
    questionIds: links.filter((link) => link.campaignId === row.campaign.id).map((link) => link.questionId),
  }));
}

/** The source, the questions and the date order, checked together: one 422 lists every problem. */
async function checkInput(tx: Executor, companyId: number, input: References, dates: [Date | null, Date | null]) {
  const errors: FieldError[] = [];
  if (input.source_id && !(await findSource(tx, companyId, input.source_id))) {
    errors.push(fieldError('source_id', 'invalid_reference', 'is not a live source of this company'));
  }
  const ids = input.question_ids ?? [];
  const found = new Set(await liveQuestionIdsAmong(tx, companyId, ids));
  const seen = new Set<number>();
  ids.forEach((id, index) => {
    if (!found.has(id)) {
      errors.push(fieldError(`question_ids.${index}`, 'invalid_reference', 'is not a live question of this company'));
    } else if (seen.has(id)) {
      errors.push(fieldError(`question_ids.${index}`, 'duplicate', 'is listed more than once'));
    }
    seen.add(id);
  });
  const [startsAt, endsAt] = dates;
  if (startsAt && endsAt && endsAt.getTime() <= startsAt.getTime()) {
    errors.push(fieldError('ends_at', 'before_start', 'must be after starts_at'));
  }
  if (errors.length > 0) throw invalid(errors);
}

function valuesOf(input: UpdateCampaignInput): CampaignValues {
  const values: CampaignValues = {};
  if (input.name !== undefined) values.name = input.name.trim();
  if (input.source_id !== undefined) values.sourceId = input.source_id;
  if (input.status !== undefined) values.status = input.status;
  const startsAt = toDate(input.starts_at);
  const endsAt = toDate(input.ends_at);
  if (startsAt !== undefined) values.startsAt = startsAt;
  if (endsAt !== undefined) values.endsAt = endsAt;
  return values;
}

export function createCampaignsService(deps: { db: Db }) {
  const { db } = deps;

  async function view(executor: Executor, companyId: number, id: number): Promise<CampaignView> {
    const row = await findCampaign(executor, companyId, id);
    if (!row) throw notFound('Campaign');
    const [result] = await withQuestionIds(executor, companyId, [row]);
    return result!;
  }

  return {
    get: (companyId: number, id: number) => view(db, companyId, id),

    async list(companyId: number, query: ListCampaignsInput) {
      const limit = query.limit ?? 25;
      const before = decodeCursor(query.cursor, ['id'])?.[0];
      const rows = await listCampaigns(db, companyId, { status: query.status, before, limit });
      const total = query.count ? await countCampaigns(db, companyId, query.status) : undefined;
      const page = toPage(rows, limit, (row) => [row.campaign.id], total);
      return { items: await withQuestionIds(db, companyId, page.items), meta: page.meta };
    },

    async create(companyId: number, input: CreateCampaignInput): Promise<CampaignView> {
      const values = valuesOf(input);
      return db.transaction(async (tx) => {
        await checkInput(tx, companyId, input, [values.startsAt ?? null, values.endsAt ?? null]);
        const id = await insertCampaign(tx, companyId, { ...values, name: values.name! });
        await replaceQuestions(tx, companyId, id, input.question_ids ?? []);
        return view(tx, companyId, id);
      });
    },

    async update(companyId: number, id: number, input: UpdateCampaignInput): Promise<CampaignView> {
      const values = valuesOf(input);
      return db.transaction(async (tx) => {
        if (!(await lockCampaign(tx, companyId, id))) throw notFound('Campaign');
        const current = (await findCampaign(tx, companyId, id))!.campaign;
        const dates: [Date | null, Date | null] = [
          values.startsAt === undefined ? current.startsAt : values.startsAt,
          values.endsAt === undefined ? current.endsAt : values.endsAt,
        ];
        await checkInput(tx, companyId, input, dates);
        await updateCampaign(tx, companyId, id, values);
        if (input.question_ids !== undefined) await replaceQuestions(tx, companyId, id, input.question_ids);
        return view(tx, companyId, id);
      });
    },

    /** Soft: leads keep their campaign_id; the campaign leaves the lists and its routes answer 404. */
    async remove(companyId: number, id: number) {
      await db.transaction(async (tx) => {
        if (!(await lockCampaign(tx, companyId, id))) throw notFound('Campaign');
        await softDeleteCampaign(tx, companyId, id);
      });
    },
  };
}

export type CampaignsService = ReturnType<typeof createCampaignsService>;
