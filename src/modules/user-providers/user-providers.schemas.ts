import { Type } from 'typebox';
import type { UserRow } from '../users/users.repository.ts';
import type { UserProviderRow } from './user-providers.repository.ts';

export const ProviderJson = Type.Object(
  {
    provider: Type.String({
      description: '`password`, or the name of an OpenID Connect provider (`oidc` by default: OIDC_PROVIDER_NAME).',
    }),
    email: Type.String({ description: 'The address the provider vouched for when it was last used to sign in.' }),
    linked_at: Type.String({ format: 'date-time' }),
  },
  {
    title: 'Provider',
    description: 'One way a user can sign in.',
    examples: [{ provider: 'password', email: 'ana@example.com', linked_at: '2026-03-02T09:00:00.000Z' }],
  },
);

export const ProvidersEnvelope = Type.Object({ providers: Type.Array(ProviderJson) });

/** `password` is not a row: it exists while the user has a password hash, since the account was created. */
export function presentProviders(user: UserRow, links: UserProviderRow[]) {
  const password = user.passwordHash
    ? [{ provider: 'password', email: user.email, linked_at: user.createdAt.toISOString() }]
    : [];
  return [
    ...password,
    ...links.map((link) => ({ provider: link.provider, email: link.email, linked_at: link.linkedAt.toISOString() })),
  ];
}
