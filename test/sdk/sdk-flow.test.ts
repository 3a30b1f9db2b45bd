import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type ApiKey,
  type Appointment,
  type Company,
  type Cycle,
  createLeadsyClient,
  type Import,
  type Lead,
  type LeadsyClient,
  LeadsyError,
  type LeadTombstone,
  type Note,
  type Problem,
  type Source,
  type User,
  type UserAccess,
} from '@leadsy/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { PASSWORD, uniqueEmail } from '../helpers/factories.ts';

/**
 * The SDK against the real app on a real port, through the global fetch: what an integrator's code does, from
 * sign-up to an appointment. The app runs its own worker (WORKER=on) so that imports finish as they do in production.
 */
let ctx: TestContext;
let baseUrl: string;

beforeAll(async () => {
  ctx = await buildTestApp({ WORKER: 'on' });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => ctx?.close());

/** A new account signed in: its id and a client carrying its token. */
async function signUp(firstName: string): Promise<{ id: number; email: string; client: LeadsyClient }> {
  const anonymous = createLeadsyClient({ baseUrl });
  const email = uniqueEmail(firstName.toLowerCase());
  const { data: created } = await anonymous.POST('/api/v1/users', {
    body: { first_name: firstName, last_name: 'Sdk', email, password: PASSWORD },
  });
  const user: User = created.user;
  const { data: session } = await anonymous.POST('/api/v1/users/login', { body: { email, password: PASSWORD } });
  expect(session.token_type).toBe('Bearer');
  // The function form: asked before every request (a token that is refreshed would be read here).
  return { id: user.id, email, client: createLeadsyClient({ baseUrl, token: () => session.token }) };
}

describe('the SDK, end to end', () => {
  let admin: Awaited<ReturnType<typeof signUp>>;
  let companyId: number;
  let leadId: number;

  it('signs up, creates a company, invites a colleague who accepts, and sets up a source and a cycle', async () => {
    admin = await signUp('Ada');
    const { client } = admin;
    const { data: company } = await client.POST('/api/v1/companies', {
      body: { name: `Sdk ${randomBytes(3).toString('hex')}` },
    });
    const created: Company = company.company;
    companyId = created.id;
    const path = { company_id: companyId };

    const { data: catalog } = await client.GET('/api/v1/accesses');
    const agentAccess = catalog.accesses.find((access) => access.code === 'agent')!;
    const colleague = await signUp('Grace');
    const { data: invited } = await client.POST('/api/v1/companies/{company_id}/invitations', {
      params: { path },
      body: { email: colleague.email, access_id: agentAccess.id },
    });
    const { data: accepted } = await colleague.client.POST('/api/v1/invitations/{code}/accept', {
      params: { path: { code: invited.invitation.code! } },
      body: {},
    });
    const membership: UserAccess = accepted.user_access;
    expect(membership.company.id).toBe(companyId);
    expect(membership.access.code).toBe('agent');

    const { data: source } = await client.POST('/api/v1/companies/{company_id}/sources', {
      params: { path },
      body: { name: 'Website' },
    });
    const website: Source = source.source;
    expect(website.name).toBe('Website');
    await client.PUT('/api/v1/companies/{company_id}/cycles/enabled', { params: { path }, body: { enabled: true } });
    const { data: cycle } = await client.POST('/api/v1/companies/{company_id}/cycles', {
      params: { path },
      body: { name: 'Everyone', user_access_ids: [membership.id], default: true, source_id: website.id },
    });
    const everyone: Cycle = cycle.cycle;
    expect(everyone.name).toBe('Everyone');
  });

  it('creates leads and lists every one of them, page after page', async () => {
    const { client } = admin;
    const path = { company_id: companyId };
    const created: Lead[] = [];
    for (let i = 0; i < 27; i++) {
      const { data } = await client.POST('/api/v1/companies/{company_id}/leads', {
        params: { path },
        body: { first_name: `Lead${i}`, last_name: 'Sdk', email: `lead${i}.${companyId}@example.com` },
      });
      created.push(data.lead);
    }
    leadId = created[0]!.id;

    // paginate's items are typed from the path: a lead, or a deleted one's tombstone when include_deleted is set.
    const listed: (Lead | LeadTombstone)[] = [];
    for await (const lead of client.paginate('/api/v1/companies/{company_id}/leads', {
      params: { path, query: { limit: 4 } },
    }))
      listed.push(lead);
    expect(listed).toHaveLength(27);
    // Only lists paginate: the stages answer no cursor (never called; the compiler's check is the point).
    // @ts-expect-error '/api/v1/stages' is not a ListPath
    expect(() => client.paginate('/api/v1/stages')).toBeTypeOf('function');
    expect(new Set(listed.map((lead) => lead.id))).toEqual(new Set(created.map((lead) => lead.id)));
  });

  it('uploads a CSV import and follows it until it completes', async () => {
    const { client } = admin;
    const path = { company_id: companyId };
    const csv = 'first_name,last_name,email\nAnn,Csv,ann.csv@example.com\nBen,Csv,ben.csv@example.com\n';
    const { data: started, response } = await client.POST('/api/v1/companies/{company_id}/imports', {
      params: { path },
      body: { file: new File([csv], 'leads.csv', { type: 'text/csv' }) },
    });
    expect(response.status).toBe(202);
    const importId = started.import_file.id;
    const finished: Import = await vi.waitFor(
      async () => {
        const { data } = await client.GET('/api/v1/companies/{company_id}/imports/{import_id}', {
          params: { path: { ...path, import_id: importId } },
        });
        expect(data.import_file.status).toBe('completed');
        return data.import_file;
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(finished.imported_rows).toBe(2);

    let total = 0;
    for await (const _lead of client.paginate('/api/v1/companies/{company_id}/leads', {
      params: { path, query: { limit: 10 } },
    }))
      total++;
    expect(total).toBe(29);
  });

  it('adds a note and books an appointment on a lead', async () => {
    const { client } = admin;
    const path = { company_id: companyId, lead_id: leadId };
    const { data: note } = await client.POST('/api/v1/companies/{company_id}/leads/{lead_id}/notes', {
      params: { path },
      body: { body: 'Called, wants a demo.' },
    });
    const written: Note = note.note;
    expect(written.body).toBe('Called, wants a demo.');
    const startsAt = new Date(Date.now() + 86_400_000);
    const { data: booked } = await client.POST('/api/v1/companies/{company_id}/leads/{lead_id}/appointments', {
      params: { path },
      body: {
        starts_at: startsAt.toISOString(),
        ends_at: new Date(startsAt.getTime() + 1_800_000).toISOString(),
        title: 'Demo',
      },
    });
    const { data: shown } = await client.GET('/api/v1/appointments/{appointment_id}', {
      params: { path: { appointment_id: booked.appointment.id } },
    });
    const appointment: Appointment = shown.appointment;
    expect(appointment).toMatchObject({ id: booked.appointment.id, title: 'Demo' });
  });

  it('throws problem answers as a LeadsyError with their code and fields', async () => {
    const { client } = admin;
    const error = await client
      .POST('/api/v1/companies/{company_id}/leads', {
        params: { path: { company_id: companyId } },
        body: { first_name: 'Nobody', email: 'not an email' },
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LeadsyError);
    const problem = error as LeadsyError;
    expect(problem.status).toBe(422);
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.field)).toContain('email');
    expect(problem.request_id).toBeTruthy();
    // The error carries the document's Problem fields, typed.
    const body: Problem = problem;
    expect(body.type).toBeTruthy();

    const missing = await client
      .GET('/api/v1/companies/{company_id}', { params: { path: { company_id: companyId + 1_000_000 } } })
      .catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('authenticates with a company API key', async () => {
    const { client } = admin;
    const { data: catalog } = await client.GET('/api/v1/accesses');
    const manager = catalog.accesses.find((access) => access.code === 'manager')!;
    const { data: key } = await client.POST('/api/v1/companies/{company_id}/api_keys', {
      params: { path: { company_id: companyId } },
      body: { name: 'CRM sync', access_id: manager.id },
    });
    const apiKey: ApiKey = key.api_key;
    expect(apiKey.access.code).toBe('manager');
    expect(key.secret.startsWith('lsk_')).toBe(true);
    const integration = createLeadsyClient({ baseUrl, apiKey: key.secret });
    const { data: page } = await integration.GET('/api/v1/companies/{company_id}/leads', {
      params: { path: { company_id: companyId }, query: { limit: 1, count: true } },
    });
    expect(page.meta.total).toBe(29);
    const refused = await integration
      .GET('/api/v1/users/{user_id}', { params: { path: { user_id: admin.id } } })
      .catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ status: 403, code: 'api_key_not_allowed' });
  });
});
