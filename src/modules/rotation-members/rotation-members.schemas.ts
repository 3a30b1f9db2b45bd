import { Type } from 'typebox';

/** A cycle's or a territory's members: the people its leads rotate among. */
export const MAX_MEMBERS = 200;
export const MAX_WEIGHT = 100;

const Id = Type.Integer({ minimum: 1 });

export const UserAccessIds = Type.Array(Id, {
  minItems: 1,
  maxItems: MAX_MEMBERS,
  description:
    'User accesses of this company (direct accesses, not inherited), each once, in rotation order. ' +
    `1..${MAX_MEMBERS}.`,
});

export const Weights = Type.Array(Type.Integer({ minimum: 1, maximum: MAX_WEIGHT }), {
  minItems: 1,
  maxItems: MAX_MEMBERS,
  description:
    `One integer (1..${MAX_WEIGHT}) per user access, in the same order: each member's share of the leads ` +
    '(smooth weighted round robin). Without weights every member weighs 1 (strict round robin).',
});

/** Examples of a cycle's or a territory's members. */
export const memberExamples = [
  {
    user_access_id: 31,
    user_id: 43,
    full_name: 'Luis Pérez',
    position: 0,
    weight: 2,
    assigned_count: 18,
    active: true,
  },
  { user_access_id: 32, user_id: 44, full_name: 'Marta Ruiz', position: 1, weight: 1, assigned_count: 9, active: true },
];

export const MemberJson = Type.Object(
  {
    user_access_id: Type.Integer(),
    user_id: Type.Integer(),
    full_name: Type.String(),
    position: Type.Integer({ description: 'The place in the rotation: the index in `user_access_ids` (0-based).' }),
    weight: Type.Integer(),
    assigned_count: Type.Integer({ description: 'Leads this rotation has handed to the member.' }),
    active: Type.Boolean({ description: 'false when the user is deactivated: the rotation skips them.' }),
  },
  {
    title: 'RotationMember',
    description: "A member of a cycle's or a territory's rotation.",
    examples: [memberExamples[0]],
  },
);

export type MemberView = {
  ownerId: number;
  userAccessId: number;
  userId: number;
  firstName: string;
  lastName: string;
  status: string;
  position: number;
  weight: number;
  assignedCount: number;
};

export function presentMember(member: MemberView) {
  return {
    user_access_id: member.userAccessId,
    user_id: member.userId,
    full_name: `${member.firstName} ${member.lastName}`.trim(),
    position: member.position,
    weight: member.weight,
    assigned_count: member.assignedCount,
    active: member.status !== 'inactive',
  };
}
