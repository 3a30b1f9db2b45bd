import { Type } from 'typebox';

export const VerifyEmailBody = Type.Object(
  {
    token: Type.String({
      minLength: 16,
      maxLength: 256,
      description: 'The one-time token mailed at sign-up, on request, or to the new address of an email change.',
    }),
  },
  {
    additionalProperties: false,
    title: 'EmailVerification',
    examples: [{ token: 'xrHCFOieXzro5bIOS_TY7gHugr2e9LkQTloe1xzpSc0' }],
  },
);
