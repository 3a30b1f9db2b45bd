import { type TSchema, Type } from 'typebox';
import { ACTIVITY_KINDS, type ActivityKind } from '../../db/schema/index.ts';
import { Nullable } from '../../lib/schema.ts';

const Id = Type.Integer();
const ImportRow = {
  import_id: Type.Optional(Type.Integer({ description: 'The import that wrote it (imports only).' })),
  row: Type.Optional(Type.Integer({ description: 'Its row in the import file (imports only).' })),
};

/**
 * Each kind's `data`, as the lead intake writes it (lead-intake.ts, leads.service.ts, lead-notes.service.ts,
 * import-batch.ts and the import's SQL insert). The serializer picks the branch whose `kind` matches, so every
 * field that can occur is listed (an unlisted one would be dropped from the answer).
 */
const DATA: Record<ActivityKind, { data: TSchema; what: string }> = {
  created: { data: Type.Object(ImportRow), what: 'The lead was created (by the API, or by an import row).' },
  assigned: {
    what:
      'The lead got an assignee, another one, or none: by a person (`rule: manual`), by the distribution rules ' +
      '(with the rule and rotation that chose), or because its assignee left (`reason: access_removed`).',
    data: Type.Object({
      from: Nullable(Type.Integer({ description: 'The previous assignee (a user access id).' })),
      to: Nullable(Type.Integer({ description: 'The new assignee (a user access id); null: none.' })),
      rule: Type.Optional(Type.Enum(['manual', 'territory', 'source_cycle', 'source', 'default_cycle'])),
      rotation: Type.Optional(
        Type.Object({
          kind: Type.Enum(['cycle', 'territory', 'source']),
          id: Id,
          name: Type.Optional(Type.String()),
        }),
      ),
      match: Type.Optional(
        Type.Enum(['postal_code', 'region', 'country'], { description: 'How a territory matched.' }),
      ),
      reason: Type.Optional(Type.Enum(['access_removed'])),
    }),
  },
  updated: {
    what:
      'Fields changed: by the API (`changes`: field → [before, after], `answers`: the questions answered) or by an ' +
      'import row merged in (`changes`: the fields it set).',
    data: Type.Object({
      changes: Type.Union([
        Type.Record(Type.String(), Type.Array(Type.Unknown(), { minItems: 2, maxItems: 2 })),
        Type.Array(Type.String()),
      ]),
      answers: Type.Optional(Type.Array(Id)),
      ...ImportRow,
    }),
  },
  stage_changed: {
    what: 'The stage changed (stage ids).',
    data: Type.Object({ from: Id, to: Id }),
  },
  deleted: {
    what: 'The lead was deleted; its upcoming appointments were canceled.',
    data: Type.Object({ canceled_appointments: Type.Optional(Type.Array(Id)) }),
  },
  note_added: { what: 'A note was added.', data: Type.Object({ note_id: Id }) },
  note_deleted: { what: 'A note was deleted.', data: Type.Object({ note_id: Id }) },
};

/** `stage_changed` → `ActivityStageChanged`. */
const titleOf = (kind: string) =>
  `Activity${kind
    .split('_')
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('')}`;

const activityOf = (kind: ActivityKind) =>
  Type.Object(
    {
      id: Type.Integer(),
      kind: Type.Literal(kind),
      actor_user_id: Nullable(Type.Integer({ description: 'Who did it; null: the system (an import, a rule).' })),
      data: DATA[kind].data,
      created_at: Type.String({ format: 'date-time' }),
    },
    { title: titleOf(kind), description: DATA[kind].what },
  );

/** One entry of a lead's timeline; `kind` says which, and what `data` holds. */
export const ActivityJson = Type.Union(
  ACTIVITY_KINDS.map((kind) => activityOf(kind)),
  {
    title: 'Activity',
    description: "One entry of a lead's activity timeline; `kind` tells which, and the shape of `data`.",
    examples: [
      {
        id: 41,
        kind: 'assigned',
        actor_user_id: null,
        data: { from: null, to: 7, rule: 'default_cycle', rotation: { kind: 'cycle', id: 2, name: 'Madrid team' } },
        created_at: '2026-03-23T15:30:28.000Z',
      },
    ],
  },
);
