import { Type } from 'typebox';
import { Email, Password, UserJson, userExample } from '../users/users.schemas.ts';

const tokenExample =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc3MjQ0MjAwMH0.Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0';

export const LoginBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 128 }) },
  {
    additionalProperties: false,
    title: 'Login',
    examples: [{ email: 'ana@example.com', password: 'correct horse battery staple' }],
  },
);

export const TokenJson = Type.Object(
  {
    token: Type.String({ description: 'Send it as `Authorization: Bearer <token>`.' }),
    token_type: Type.Literal('Bearer'),
    expires_at: Type.String({ format: 'date-time' }),
    user: UserJson,
  },
  {
    title: 'Session',
    description: 'A bearer token for the signed-in user, and that user.',
    examples: [
      { token: tokenExample, token_type: 'Bearer', expires_at: '2026-03-03T09:00:00.000Z', user: userExample },
    ],
  },
);

export const ValidateJson = Type.Object(
  {
    valid: Type.Literal(true),
    expires_at: Type.String({ format: 'date-time' }),
    user: UserJson,
  },
  {
    title: 'TokenValidation',
    description: 'The token is valid until `expires_at`; `user` is its owner.',
    examples: [{ valid: true, expires_at: '2026-03-03T09:00:00.000Z', user: userExample }],
  },
);

export const ResetRequestBody = Type.Object(
  { email: Email },
  { additionalProperties: false, title: 'PasswordResetRequest', examples: [{ email: 'ana@example.com' }] },
);

export const ResetConfirmBody = Type.Object(
  {
    token: Type.String({ minLength: 16, maxLength: 256, description: 'The one-time token from the reset email.' }),
    password: Password,
  },
  {
    additionalProperties: false,
    title: 'PasswordReset',
    examples: [{ token: 'tNz5BBj1MOMsCbY49ld1_RwF7UwnfD9OKQjCyIqy8vE', password: 'a new long passphrase' }],
  },
);

export const Accepted = Type.Object(
  { status: Type.Literal('accepted'), message: Type.String() },
  {
    title: 'Accepted',
    description: 'The request was taken; what it asked for happens by mail.',
    examples: [{ status: 'accepted', message: 'If an account uses this address, a reset token is on its way.' }],
  },
);
