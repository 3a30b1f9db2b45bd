import { type Static, Type } from 'typebox';
import { avatarRoute } from '../../lib/avatar-route.ts';
import { maskEmail } from '../../lib/email.ts';
import { PageQuery } from '../../lib/pagination.ts';
import { AccessCode } from '../reference/reference.schemas.ts';
import { Email } from '../users/users.schemas.ts';
import type { InvitationRow, InvitationView } from './invitations.repository.ts';

const Id = Type.Integer({ minimum: 1 });
// Loose on purpose: a malformed code must answer the same 404 as an unknown one, not a telling 422.
const Code = Type.String({ minLength: 1, maxLength: 256 });
const DateTime = Type.String({ format: 'date-time' });
const Status = Type.Enum(['pending', 'accepted', 'deleted', 'expired'], {
  description: 'Derived: `accepted` once used, `deleted` once withdrawn, else `expired` after `expires_at`.',
});

const invitationExample = {
  id: 5,
  company: { id: 7, name: 'Acme Iberia', avatar_route: null },
  email: 'luis@example.com',
  access: { id: 3, code: 'agent', name: 'Sales agent' },
  invited_by: { id: 42, full_name: 'Ana García' },
  status: 'pending',
  expires_at: '2026-03-09T09:20:00.000Z',
  created_at: '2026-03-02T09:20:00.000Z',
};

export const InvitationJson = Type.Object(
  {
    id: Type.Integer(),
    company: Type.Object({
      id: Type.Integer(),
      name: Type.String(),
      avatar_route: Type.Union([Type.String(), Type.Null()]),
    }),
    email: Type.String(),
    access: Type.Object({ id: Type.Integer(), code: AccessCode, name: Type.String() }),
    invited_by: Type.Union([Type.Object({ id: Type.Integer(), full_name: Type.String() }), Type.Null()], {
      description: 'The user who sent the invitation; null once that user is deleted.',
    }),
    status: Status,
    expires_at: DateTime,
    created_at: DateTime,
  },
  {
    title: 'Invitation',
    description: 'An invitation of an email address into a company with an access. Never its code.',
    examples: [invitationExample],
  },
);

/** The create answer is the only place the code appears (besides the email). */
export const CreatedInvitationJson = Type.Object(
  {
    ...InvitationJson.properties,
    code: Type.String({ description: 'Shown once: share it, or the link in the email. Lists never show it.' }),
  },
  {
    title: 'CreatedInvitation',
    description: 'An invitation as its creation answers it: the only answer that carries its code.',
    examples: [{ ...invitationExample, code: '9oaUToc0nk3f8zel8X726xj0jai-RKp2L7xNwRdBuZA' }],
  },
);

/** What an anonymous holder of a code may learn: enough to decide whether to accept, nothing more. */
export const PublicInvitationJson = Type.Object(
  {
    company: Type.Object({ name: Type.String(), avatar_route: Type.Union([Type.String(), Type.Null()]) }),
    access: Type.Object({ code: AccessCode, name: Type.String() }),
    email: Type.String({ description: 'Masked, e.g. `j*******@example.com`.' }),
    expires_at: DateTime,
  },
  {
    title: 'PublicInvitation',
    description: 'What the holder of a code may learn before accepting it.',
    examples: [
      {
        company: { name: 'Acme Iberia', avatar_route: null },
        access: { code: 'agent', name: 'Sales agent' },
        email: 'l***@example.com',
        expires_at: '2026-03-09T09:20:00.000Z',
      },
    ],
  },
);

export const CompanyParams = Type.Object({ company_id: Id });
export const InvitationParams = Type.Object({ company_id: Id, invitation_id: Id });
export const CodeParams = Type.Object({ code: Code });

export const CreateInvitationBody = Type.Object(
  { email: Email, access_id: Type.Integer({ minimum: 1, description: 'An access id (GET /api/v1/accesses).' }) },
  {
    additionalProperties: false,
    title: 'InvitationCreate',
    examples: [{ email: 'luis@example.com', access_id: 3 }],
  },
);
export const AcceptBody = Type.Object(
  {
    primary: Type.Optional(
      Type.Boolean({
        description: "Make the new access the user's primary one. Default: only when the user has no primary access.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Optional; no body is the same as `{}`.',
    title: 'InvitationAccept',
    examples: [{ primary: true }],
  },
);
export const ListQuery = Type.Object(PageQuery);
export const ByEmailQuery = Type.Object({ email: Email, ...PageQuery });

export type CreateInvitationInput = Static<typeof CreateInvitationBody>;
export type AcceptInput = Static<typeof AcceptBody>;
export type PageInput = { limit?: number; cursor?: string; count?: boolean };

export function invitationStatus(row: InvitationRow, now: Date): Static<typeof Status> {
  if (row.acceptedAt) return 'accepted';
  if (row.deletedAt) return 'deleted';
  return row.expiresAt > now ? 'pending' : 'expired';
}

export function presentInvitation(view: InvitationView, now: Date) {
  const { invitation, company, access, inviter } = view;
  return {
    id: invitation.id,
    company: { id: company.id, name: company.name, avatar_route: avatarRoute('companies', company.avatarKey) },
    email: invitation.email,
    access: { id: access.id, code: access.code, name: access.name },
    invited_by: inviter ? { id: inviter.id, full_name: `${inviter.firstName} ${inviter.lastName}`.trim() } : null,
    status: invitationStatus(invitation, now),
    expires_at: invitation.expiresAt.toISOString(),
    created_at: invitation.createdAt.toISOString(),
  };
}

export function presentPublicInvitation(view: InvitationView) {
  return {
    company: { name: view.company.name, avatar_route: avatarRoute('companies', view.company.avatarKey) },
    access: { code: view.access.code, name: view.access.name },
    email: maskEmail(view.invitation.email),
    expires_at: view.invitation.expiresAt.toISOString(),
  };
}
