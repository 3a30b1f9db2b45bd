import { Type } from 'typebox';

export const OidcLoginBody = Type.Object(
  {
    id_token: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: 'The ID token (a signed JWT) the configured OpenID Connect provider issued to this application.',
    }),
  },
  {
    additionalProperties: false,
    title: 'OidcLogin',
    examples: [
      {
        id_token:
          'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIiwic3ViIjoiMjQ4Mjg5NzYxMDAxIiwiYXVkIjoibGVhZHN5IiwiZW1haWwiOiJhbmFAZXhhbXBsZS5jb20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZX0.c2lnbmF0dXJl',
      },
    ],
  },
);
