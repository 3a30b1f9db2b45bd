import { type Static, Type } from 'typebox';
import { avatarRoute } from '../../lib/avatar-route.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../lib/passwords.ts';
import { Nullable } from '../../lib/schema.ts';
import type { UserRow } from './users.repository.ts';

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX });
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Lang = Type.String({ pattern: '^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$', maxLength: 35, description: 'BCP 47' });
export const Theme = Type.Enum(['light', 'dark', 'system'], { description: 'The interface theme.' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' });
const Birthdate = Type.String({ format: 'date', description: 'YYYY-MM-DD' });
export const UserStatus = Type.Enum(['pending', 'active', 'inactive'], {
  description: '`inactive`: deactivated by platform staff; every credential ended and sign-in refused.',
});

/** Examples other modules' schemas nest. */
export const userSummaryExample = {
  id: 42,
  first_name: 'Ana',
  last_name: 'García',
  email: 'ana@example.com',
  status: 'active',
  lang: 'es',
  theme: 'system',
  currency: 'EUR',
  birthdate: '1990-04-12',
  full_name: 'Ana García',
  avatar_route: null,
};

export const userExample = {
  ...userSummaryExample,
  email_verified: true,
  pending_email: null,
  onboarding_completed_at: '2026-03-02T09:15:00.000Z',
  legal_terms_accepted: true,
  created_at: '2026-03-02T09:00:00.000Z',
  updated_at: '2026-03-02T09:15:00.000Z',
};

/** The seed's user shape, key for key (nested in user_access). */
export const SeedUserJson = Type.Object(
  {
    id: Type.Integer(),
    first_name: Type.String(),
    last_name: Type.String(),
    email: Type.String(),
    status: UserStatus,
    lang: Type.String(),
    theme: Theme,
    currency: Type.String(),
    birthdate: Nullable(Type.String()),
    full_name: Type.String(),
    avatar_route: Nullable(Type.String()),
  },
  {
    title: 'UserSummary',
    description: "A user as a user access shows it: the seed's keys only.",
    examples: [userSummaryExample],
  },
);

/** The seed's keys first, then what a client of a user resource also needs. Never a hash or a token version. */
export const UserJson = Type.Object(
  {
    ...SeedUserJson.properties,
    email_verified: Type.Boolean({
      description:
        'Whether the owner proved they receive mail at `email` (a verification token, an invitation code, a password ' +
        'reset, or a verified OpenID Connect identity). An unverified address is never trusted.',
    }),
    pending_email: Nullable(
      Type.String({
        description: 'A new address waiting for confirmation: `email` stays the old one until it is verified.',
      }),
    ),
    onboarding_completed_at: Nullable(Type.String({ format: 'date-time' })),
    legal_terms_accepted: Type.Optional(
      Type.Boolean({
        description:
          'Whether the user accepted the current version of every legal document (GET /api/v1/legal_terms/current). ' +
          'Present on the Users and User Onboarding endpoints.',
      }),
    ),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  {
    title: 'User',
    description: 'A person who signs in. Never a password hash or a token.',
    examples: [userExample],
  },
);

export const UserParams = Type.Object({ user_id: Type.Integer({ minimum: 1 }) });

export const SignupBody = Type.Object(
  {
    first_name: Name,
    last_name: Name,
    email: Email,
    password: Password,
    lang: Type.Optional(Lang),
    theme: Type.Optional(Theme),
    currency: Type.Optional(Currency),
    birthdate: Type.Optional(Birthdate),
    invitation_code: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Joins the inviting company with the invited access; the invitation must be for this email.',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'SignUp',
    examples: [
      {
        first_name: 'Ana',
        last_name: 'García',
        email: 'ana@example.com',
        password: 'correct horse battery staple',
        lang: 'es',
        theme: 'system',
        currency: 'EUR',
        birthdate: '1990-04-12',
      },
    ],
  },
);

export const UpdateUserBody = Type.Object(
  {
    first_name: Type.Optional(Name),
    last_name: Type.Optional(Name),
    email: Type.Optional(Email),
    lang: Type.Optional(Lang),
    theme: Type.Optional(Theme),
    currency: Type.Optional(Currency),
    birthdate: Type.Optional(Type.Union([Birthdate, Type.Null()])),
    password: Type.Optional(Password),
    current_password: Type.Optional(
      Type.String({ maxLength: PASSWORD_MAX, description: 'Required to change your own email or password.' }),
    ),
    status: Type.Optional(UserStatus),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    title: 'UserUpdate',
    examples: [{ first_name: 'Ana María', lang: 'es-ES', theme: 'dark', currency: 'EUR' }],
  },
);

export const ListUsersQuery = Type.Object({
  q: Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'Searches first name, last name and email.' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  count: Type.Optional(Type.Boolean()),
});

export const FindByEmailQuery = Type.Object({ email: Email });

export const OnboardingBody = Type.Object(
  {
    completed: Type.Literal(true, {
      description: 'Only `true`: completing the onboarding cannot be undone (`false` is a 422).',
    }),
  },
  { additionalProperties: false, title: 'OnboardingUpdate', examples: [{ completed: true }] },
);

export type SignupInput = Static<typeof SignupBody>;
export type UpdateUserInput = Static<typeof UpdateUserBody>;

export function presentSeedUser(row: UserRow) {
  return {
    id: row.id,
    first_name: row.firstName,
    last_name: row.lastName,
    email: row.email,
    status: row.status,
    lang: row.lang,
    theme: row.theme,
    currency: row.currency,
    birthdate: row.birthdate,
    full_name: `${row.firstName} ${row.lastName}`.trim(),
    avatar_route: avatarRoute('users', row.avatarKey),
  };
}

/** `legalTermsAccepted` comes from UsersService.legalTermsAccepted (one query for a whole page of users). */
export function presentUser(row: UserRow, legalTermsAccepted?: boolean) {
  return {
    ...presentSeedUser(row),
    email_verified: row.emailVerifiedAt !== null,
    pending_email: row.pendingEmail,
    onboarding_completed_at: row.onboardingCompletedAt?.toISOString() ?? null,
    ...(legalTermsAccepted === undefined ? {} : { legal_terms_accepted: legalTermsAccepted }),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
