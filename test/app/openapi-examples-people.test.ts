import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Accepted,
  LoginBody,
  ResetConfirmBody,
  ResetRequestBody,
  TokenJson,
  ValidateJson,
} from '../../src/modules/auth/auth.schemas.ts';
import { CampaignJson, CreateCampaignBody, UpdateCampaignBody } from '../../src/modules/campaigns/campaigns.schemas.ts';
import {
  CompanyAccessJson,
  CompanyJson,
  CreateCompanyBody,
  UpdateCompanyBody,
} from '../../src/modules/companies/companies.schemas.ts';
import { CompanyUserJson } from '../../src/modules/company-users/company-users.schemas.ts';
import {
  CreateCycleBody,
  CycleJson,
  CyclesEnabledBody,
  UpdateCycleBody,
} from '../../src/modules/cycles/cycles.schemas.ts';
import { VerifyEmailBody } from '../../src/modules/email-verification/email-verification.schemas.ts';
import {
  AcceptBody,
  CreatedInvitationJson,
  CreateInvitationBody,
  InvitationJson,
  PublicInvitationJson,
} from '../../src/modules/invitations/invitations.schemas.ts';
import {
  AcceptLegalTermBody,
  LegalTermAcceptanceJson,
  LegalTermJson,
} from '../../src/modules/legal-terms/legal-terms.schemas.ts';
import {
  AttachMembershipBody,
  CompanyMembershipJson,
  MembershipJson,
  SubscriptionJson,
} from '../../src/modules/memberships/memberships.schemas.ts';
import { OidcLoginBody } from '../../src/modules/oidc/oidc.schemas.ts';
import {
  CampaignOptionsBody,
  CampaignQuestionJson,
  CreateQuestionBody,
  OptionBody,
  OptionJson,
  QuestionJson,
  ReorderQuestionsBody,
  UpdateQuestionBody,
} from '../../src/modules/questions/questions.schemas.ts';
import { AccessJson, StageJson } from '../../src/modules/reference/reference.schemas.ts';
import { MemberJson } from '../../src/modules/rotation-members/rotation-members.schemas.ts';
import {
  AssignUserAccessBody,
  CreateSourceBody,
  ReorderSourcesBody,
  SourceJson,
  SourceUserAccessJson,
  UpdateSourceBody,
} from '../../src/modules/sources/sources.schemas.ts';
import {
  CreateTerritoriesBody,
  TerritoryInputSchema,
  TerritoryJson,
  UpdateTerritoryBody,
} from '../../src/modules/territories/territories.schemas.ts';
import {
  CreateUserAccessBody,
  UpdateUserAccessBody,
  UserAccessJson,
} from '../../src/modules/user-accesses/user-accesses.schemas.ts';
import { ProviderJson } from '../../src/modules/user-providers/user-providers.schemas.ts';
import {
  OnboardingBody,
  SeedUserJson,
  SignupBody,
  UpdateUserBody,
  UserJson,
} from '../../src/modules/users/users.schemas.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { createCompany, createUser, grant, subscribe } from '../helpers/factories.ts';
import { tokenFromMail } from '../helpers/outbox.ts';

/** Every named schema of the people-and-setup modules: each carries a title and one example. */
const NAMED: TSchema[] = [
  Accepted,
  LoginBody,
  ResetConfirmBody,
  ResetRequestBody,
  TokenJson,
  ValidateJson,
  CampaignJson,
  CreateCampaignBody,
  UpdateCampaignBody,
  CompanyAccessJson,
  CompanyJson,
  CreateCompanyBody,
  UpdateCompanyBody,
  CompanyUserJson,
  CreateCycleBody,
  CycleJson,
  CyclesEnabledBody,
  UpdateCycleBody,
  VerifyEmailBody,
  AcceptBody,
  CreatedInvitationJson,
  CreateInvitationBody,
  InvitationJson,
  PublicInvitationJson,
  AcceptLegalTermBody,
  LegalTermAcceptanceJson,
  LegalTermJson,
  AttachMembershipBody,
  CompanyMembershipJson,
  MembershipJson,
  SubscriptionJson,
  OidcLoginBody,
  CampaignOptionsBody,
  CampaignQuestionJson,
  CreateQuestionBody,
  OptionBody,
  OptionJson,
  QuestionJson,
  ReorderQuestionsBody,
  UpdateQuestionBody,
  AccessJson,
  StageJson,
  MemberJson,
  AssignUserAccessBody,
  CreateSourceBody,
  ReorderSourcesBody,
  SourceJson,
  SourceUserAccessJson,
  UpdateSourceBody,
  CreateTerritoriesBody,
  TerritoryInputSchema,
  TerritoryJson,
  UpdateTerritoryBody,
  CreateUserAccessBody,
  UpdateUserAccessBody,
  UserAccessJson,
  ProviderJson,
  OnboardingBody,
  SeedUserJson,
  SignupBody,
  UpdateUserBody,
  UserJson,
];

const ajv = new Ajv({ allErrors: true, strict: false });
(addFormats as unknown as (ajv: Ajv) => void)(ajv);

/** A copy of a schema's example, to send as it is or with the ids only a running app knows. */
const example = (schema: TSchema): Json => structuredClone((schema as { examples: Json[] }).examples[0]!);

describe('named schemas of users, companies and setup', () => {
  it('have distinct titles, and one example each that their own schema accepts', () => {
    const titles = NAMED.map((schema) => (schema as { title?: string }).title);
    expect(titles.every((title) => typeof title === 'string')).toBe(true);
    expect(new Set(titles).size).toBe(NAMED.length);
    for (const schema of NAMED) {
      const { title, examples } = schema as { title: string; examples?: unknown[] };
      expect(examples, title).toHaveLength(1);
      const validate = ajv.compile(schema);
      expect(validate(examples![0]), `${title}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });
});

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

describe('request examples, sent as they are to a fresh installation', () => {
  it('succeed: the ids in them are the seeded ones, or replaced by those of the resources just made', async () => {
    const send = async (method: 'POST' | 'PUT' | 'PATCH', url: string, body: Json, token?: string) => {
      const response = await call(ctx.app, method, url, { body, ...(token ? { token } : {}) });
      expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeGreaterThanOrEqual(200);
      expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
      return response.body_json;
    };

    // Users: sign up, sign in, verify the address, profile, onboarding, legal terms.
    const signUp = example(SignupBody);
    const { user } = await send('POST', '/api/v1/users', signUp);
    const login = example(LoginBody);
    expect(login).toMatchObject({ email: signUp.email, password: signUp.password });
    const { token } = await send('POST', '/api/v1/users/login', login);
    await send('POST', '/api/v1/users/verify_email', {
      ...example(VerifyEmailBody),
      token: await tokenFromMail(ctx, signUp.email),
    });
    await send('PATCH', `/api/v1/users/${user.id}`, example(UpdateUserBody), token);
    await send('PUT', `/api/v1/users/${user.id}/onboarding`, example(OnboardingBody), token);
    await send('POST', `/api/v1/users/${user.id}/legal_terms`, example(AcceptLegalTermBody), token);

    // A company of its own, and another one for the plan example (its free plan has too few seats for the rest).
    const { company } = await send('POST', '/api/v1/companies', example(CreateCompanyBody), token);
    const base = `/api/v1/companies/${company.id}`;
    await send('PATCH', base, example(UpdateCompanyBody), token);
    await subscribe(ctx, company.id);
    const other = await createCompany(ctx, { id: user.id, email: user.email, token });
    await send('POST', `/api/v1/companies/${other.id}/membership`, example(AttachMembershipBody), token);

    // People: an invitation accepted by its invitee, a colleague, a second access for the invitee.
    const invitation = example(CreateInvitationBody);
    const created = await send('POST', `${base}/invitations`, invitation, token);
    const invitee = await createUser(ctx, { email: invitation.email });
    const accepted = await send(
      'POST',
      `/api/v1/invitations/${created.invitation.code}/accept`,
      example(AcceptBody),
      invitee.token,
    );
    const colleague = await createUser(ctx);
    const userAccessIds = [accepted.user_access.id, await grant(ctx, colleague, company.id, 'agent')];
    const grantAccess = { ...example(CreateUserAccessBody), company_id: other.id };
    const { user_access } = await send('POST', `/api/v1/users/${invitee.id}/user_access`, grantAccess, token);
    await send(
      'PUT',
      `/api/v1/users/${invitee.id}/user_access/${user_access.id}`,
      example(UpdateUserAccessBody),
      token,
    );

    // Sources.
    const { source } = await send('POST', `${base}/sources`, example(CreateSourceBody), token);
    await send('PATCH', `${base}/sources/${source.id}`, example(UpdateSourceBody), token);
    const second = await send('POST', `${base}/sources`, { name: 'Trade fair' }, token);
    await send('PUT', `${base}/sources/priority`, { source_ids: [second.source.id, source.id] }, token);
    expect(Object.keys(example(ReorderSourcesBody))).toEqual(['source_ids']);
    await send(
      'POST',
      `${base}/sources/${source.id}/user_accesses`,
      { ...example(AssignUserAccessBody), user_access_id: userAccessIds[0] },
      token,
    );

    // Campaigns and questions.
    const { campaign } = await send('POST', `${base}/campaigns`, example(CreateCampaignBody), token);
    await send('PATCH', `${base}/campaigns/${campaign.id}`, example(UpdateCampaignBody), token);
    const { question } = await send('POST', `${base}/questions`, example(CreateQuestionBody), token);
    await send('PATCH', `${base}/questions/${question.id}`, example(UpdateQuestionBody), token);
    const next = await send('POST', `${base}/questions`, { title: 'Budget', kind: 'number' }, token);
    await send('PUT', `${base}/questions/priority`, { question_ids: [next.question.id, question.id] }, token);
    expect(Object.keys(example(ReorderQuestionsBody))).toEqual(['question_ids']);
    await send('PATCH', `${base}/campaigns/${campaign.id}`, { question_ids: [question.id] }, token);
    const options = example(CampaignOptionsBody);
    options.questions[0].question_id = question.id;
    await send('PUT', `${base}/campaigns/${campaign.id}/questions/options`, options, token);

    // Distribution: cycles and territories among the two members.
    await send('PUT', `${base}/cycles/enabled`, example(CyclesEnabledBody), token);
    const { cycle } = await send(
      'POST',
      `${base}/cycles`,
      { ...example(CreateCycleBody), user_access_ids: userAccessIds },
      token,
    );
    await send('PATCH', `${base}/cycles/${cycle.id}`, example(UpdateCycleBody), token);
    const territories = example(CreateTerritoriesBody);
    territories.territories[0].user_access_ids = userAccessIds;
    territories.territories[1].user_access_ids = [userAccessIds[1]];
    const { territories: made } = await send('POST', `${base}/territories`, territories, token);
    await send('PATCH', `${base}/territories/${made[0].id}`, example(UpdateTerritoryBody), token);

    // Last, as it ends every earlier token: a password reset.
    await send('POST', '/api/v1/users/reset_password', example(ResetRequestBody));
    await send('PUT', '/api/v1/users/reset_password', {
      ...example(ResetConfirmBody),
      token: await tokenFromMail(ctx, signUp.email),
    });
  });
});
