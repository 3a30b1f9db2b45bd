import { Type } from 'typebox';

export const OidcLoginBody = Type.Object(
  {
    id_token: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: 'The ID token (a signed JWT) the configured OpenID Connect provider issued to this application.',
    }),
  },
  { additionalProperties: false },
);
