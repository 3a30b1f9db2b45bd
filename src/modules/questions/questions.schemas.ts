import { type Static, Type } from 'typebox';
import { PageMeta, PageQuery } from '../../lib/pagination.ts';
import { QUESTION_KINDS } from './question-options.ts';
import type { OptionRow, QuestionRow } from './questions.repository.ts';

/** A company's live questions are capped so that a reorder can always list them all in one body. */
export const MAX_QUESTIONS = 500;
export const MAX_OPTIONS = 100;

const Id = Type.Integer({ minimum: 1 });
const DateTime = Type.String({ format: 'date-time' });
const Title = Type.String({ minLength: 1, maxLength: 500, pattern: '\\S', description: 'Trimmed; 1..500 characters.' });
const Kind = Type.Enum([...QUESTION_KINDS], {
  description: 'Choice kinds (`single_choice`, `multiple_choice`) need options; the others take none.',
});
const Priority = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description: 'The place in the order (1 = first). The questions at or after it move down by one.',
});

export const OptionBody = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    value: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        pattern: '\\S',
        description:
          'What answers store. Default: a slug of the label (`"Más de 10"` → `"mas_de_10"`). Unique within the set.',
      }),
    ),
    score: Type.Optional(Type.Union([Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }), Type.Null()])),
  },
  {
    additionalProperties: false,
    title: 'QuestionOptionInput',
    description: 'One option of a choice question, as sent.',
    examples: [{ label: 'Más de 50', value: 'mas_de_50', score: 3 }],
  },
);
export const OptionsBody = Type.Array(OptionBody, {
  maxItems: MAX_OPTIONS,
  description: 'Replaces the whole set; position = array order (1-based).',
});

const optionExamples = [
  { id: 51, label: '1-10', value: '1_10', score: 1, position: 1 },
  { id: 52, label: '11-50', value: '11_50', score: 2, position: 2 },
  { id: 53, label: 'Más de 50', value: 'mas_de_50', score: 3, position: 3 },
];

export const OptionJson = Type.Object(
  {
    id: Type.Integer(),
    label: Type.String(),
    value: Type.String({ description: 'What answers store.' }),
    score: Type.Union([Type.Integer(), Type.Null()]),
    position: Type.Integer({ description: '1-based.' }),
  },
  { title: 'QuestionOption', description: 'One option of a choice question.', examples: [optionExamples[2]] },
);

const questionExample = {
  id: 21,
  company_id: 7,
  title: 'How many employees does your company have?',
  kind: 'single_choice',
  required: true,
  priority: 1,
  options: optionExamples,
  created_at: '2026-03-02T09:35:00.000Z',
  updated_at: '2026-03-02T09:35:00.000Z',
};

export const QuestionJson = Type.Object(
  {
    id: Type.Integer(),
    company_id: Type.Integer(),
    title: Type.String(),
    kind: Kind,
    required: Type.Boolean(),
    priority: Type.Integer(),
    options: Type.Array(OptionJson),
    created_at: DateTime,
    updated_at: DateTime,
  },
  {
    title: 'Question',
    description: "A question a company's leads answer, with its company options (choice kinds).",
    examples: [questionExample],
  },
);

export const CampaignQuestionJson = Type.Object(
  {
    ...QuestionJson.properties,
    options_source: Type.Enum(['campaign', 'company'], {
      description: '`campaign` when the campaign has its own options for this question, else `company`.',
    }),
  },
  {
    title: 'CampaignQuestion',
    description: 'A question of a campaign, with the options that apply to that campaign.',
    examples: [{ ...questionExample, options_source: 'company' }],
  },
);

export const QuestionEnvelope = Type.Object({ question: QuestionJson });
export const QuestionList = Type.Object({ questions: Type.Array(QuestionJson), meta: PageMeta });
export const QuestionArray = Type.Object({ questions: Type.Array(QuestionJson) });
export const CampaignQuestionArray = Type.Object({ questions: Type.Array(CampaignQuestionJson) });

export const CompanyParams = Type.Object({ company_id: Id });
export const QuestionParams = Type.Object({ company_id: Id, question_id: Id });
export const CampaignParams = Type.Object({ company_id: Id, campaign_id: Id });
export const ListQuestionsQuery = Type.Object(PageQuery);

export const CreateQuestionBody = Type.Object(
  {
    title: Title,
    kind: Kind,
    required: Type.Optional(Type.Boolean({ default: false })),
    priority: Type.Optional(Priority),
    options: Type.Optional(OptionsBody),
  },
  {
    additionalProperties: false,
    title: 'QuestionCreate',
    examples: [
      {
        title: 'How many employees does your company have?',
        kind: 'single_choice',
        required: true,
        options: [
          { label: '1-10', score: 1 },
          { label: '11-50', score: 2 },
          { label: 'Más de 50', score: 3 },
        ],
      },
    ],
  },
);
export const UpdateQuestionBody = Type.Object(
  {
    title: Type.Optional(Title),
    kind: Type.Optional(Kind),
    required: Type.Optional(Type.Boolean()),
    priority: Type.Optional(Priority),
    options: Type.Optional(OptionsBody),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'QuestionUpdate',
    examples: [{ title: 'How many people work at your company?', required: false }],
  },
);
export const ReorderQuestionsBody = Type.Object(
  {
    question_ids: Type.Array(Id, {
      maxItems: MAX_QUESTIONS,
      description: 'Every live question id of the company, exactly once, in the new order (first = priority 1).',
    }),
  },
  { additionalProperties: false, title: 'QuestionPriorityUpdate', examples: [{ question_ids: [22, 21] }] },
);
export const CampaignOptionsBody = Type.Object(
  {
    questions: Type.Array(Type.Object({ question_id: Id, options: OptionsBody }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: MAX_QUESTIONS,
    }),
  },
  {
    additionalProperties: false,
    title: 'CampaignQuestionOptionsUpdate',
    examples: [
      {
        questions: [
          {
            question_id: 21,
            options: [
              { label: 'Menos de 50', value: 'menos_de_50', score: 1 },
              { label: '50 o más', value: '50_o_mas', score: 3 },
            ],
          },
        ],
      },
    ],
  },
);

export type CreateQuestionInput = Static<typeof CreateQuestionBody>;
export type UpdateQuestionInput = Static<typeof UpdateQuestionBody>;
export type CampaignOptionsInput = Static<typeof CampaignOptionsBody>;
export type PageInput = Static<typeof ListQuestionsQuery>;

export type QuestionView = { question: QuestionRow; options: OptionRow[] };
export type CampaignQuestionView = QuestionView & { optionsSource: 'campaign' | 'company' };

export function presentQuestion({ question, options }: QuestionView) {
  return {
    id: question.id,
    company_id: question.companyId,
    title: question.title,
    kind: question.kind,
    required: question.required,
    priority: question.priority,
    options: options.map((option) => ({
      id: option.id,
      label: option.label,
      value: option.value,
      score: option.score,
      position: option.position,
    })),
    created_at: question.createdAt.toISOString(),
    updated_at: question.updatedAt.toISOString(),
  };
}

export function presentCampaignQuestion(view: CampaignQuestionView) {
  return { ...presentQuestion(view), options_source: view.optionsSource };
}
