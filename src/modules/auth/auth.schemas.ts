import { Type } from 'typebox';
import { Email, Password, UserJson } from '../users/users.schemas.ts';

export const LoginBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

export const TokenJson = Type.Object({
  token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_at: Type.String({ format: 'date-time' }),
  user: UserJson,
});

export const ValidateJson = Type.Object({
  valid: Type.Literal(true),
  expires_at: Type.String({ format: 'date-time' }),
  user: UserJson,
});

export const ResetRequestBody = Type.Object({ email: Email }, { additionalProperties: false });

export const ResetConfirmBody = Type.Object(
  { token: Type.String({ minLength: 16, maxLength: 256 }), password: Password },
  { additionalProperties: false },
);

export const Accepted = Type.Object({ status: Type.Literal('accepted'), message: Type.String() });
