import type { Db, Executor } from '../../db/client.ts';
import { type FieldError, fieldError, invalid, notFound } from '../../lib/errors.ts';
import { findCampaign, lockCampaign } from '../campaigns/campaigns.repository.ts';
import { isChoice, normalizeOptions, type OptionValues } from './question-options.ts';
import { campaignQuestionRows, lockQuestionList, optionsOf, replaceOptions } from './questions.repository.ts';
import type { CampaignOptionsInput, CampaignQuestionView } from './questions.schemas.ts';

/** A campaign's questions, each with the options that apply to it: three queries, whatever the count. */
async function campaignQuestions(db: Executor, companyId: number, campaignId: number) {
  const rows = await campaignQuestionRows(db, companyId, campaignId);
  const options = await optionsOf(
    db,
    companyId,
    rows.map((row) => row.question.id),
    campaignId,
  );
  return rows.map(({ question }): CampaignQuestionView => {
    const own = options.filter((o) => o.questionId === question.id && o.campaignId === campaignId);
    if (own.length > 0) return { question, options: own, optionsSource: 'campaign' };
    const company = options.filter((o) => o.questionId === question.id && o.campaignId === null);
    return { question, options: company, optionsSource: 'company' };
  });
}

/** Each entry of the bulk body checked against the campaign's questions; every problem at once. */
function checkedSets(input: CampaignOptionsInput, kinds: Map<number, CampaignQuestionView['question']['kind']>) {
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  const sets: { questionId: number; options: OptionValues[] }[] = [];
  input.questions.forEach((entry, index) => {
    const field = `questions.${index}`;
    const kind = kinds.get(entry.question_id);
    if (kind === undefined) {
      errors.push(fieldError(`${field}.question_id`, 'not_in_campaign', 'is not a question of this campaign'));
    } else if (!isChoice(kind)) {
      errors.push(fieldError(`${field}.question_id`, 'not_choice', `a ${kind} question has no options`));
    } else if (seen.has(entry.question_id)) {
      errors.push(fieldError(`${field}.question_id`, 'duplicate', 'is listed more than once'));
    }
    seen.add(entry.question_id);
    const normalized = normalizeOptions(entry.options, `${field}.options`);
    errors.push(...normalized.errors);
    sets.push({ questionId: entry.question_id, options: normalized.options });
  });
  if (errors.length > 0) throw invalid(errors);
  return sets;
}

export function createCampaignQuestionsService(deps: { db: Db }) {
  const { db } = deps;

  return {
    async list(companyId: number, campaignId: number) {
      if (!(await findCampaign(db, companyId, campaignId))) throw notFound('Campaign');
      return campaignQuestions(db, companyId, campaignId);
    },

    /**
     * Replaces the campaign-specific options of several questions in one transaction, all or nothing. An empty
     * `options` removes the campaign's own set, so the company's options apply again.
     */
    async replaceOptions(companyId: number, campaignId: number, input: CampaignOptionsInput) {
      return db.transaction(async (tx) => {
        if (!(await lockCampaign(tx, companyId, campaignId))) throw notFound('Campaign');
        // A concurrent kind change (which drops every option) must not interleave with the kinds read here.
        await lockQuestionList(tx, companyId);
        const rows = await campaignQuestionRows(tx, companyId, campaignId);
        const sets = checkedSets(input, new Map(rows.map((row) => [row.question.id, row.question.kind])));
        await replaceOptions(tx, companyId, campaignId, sets);
        return campaignQuestions(tx, companyId, campaignId);
      });
    },
  };
}

export type CampaignQuestionsService = ReturnType<typeof createCampaignQuestionsService>;
