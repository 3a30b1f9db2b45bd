import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hugeInlineCell } from '../../bench/hostile-files.ts';
import { importErrors, importFiles, memberships, subscriptions } from '../../src/db/schema/index.ts';
import { buildTestApp, call, type Json, type TestContext } from '../helpers/app.ts';
import { companyWithTeam, createCompany, createUser } from '../helpers/factories.ts';
import { runJobs } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';
import { xlsx as workbook } from '../helpers/xlsx.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await buildTestApp();
});
afterAll(() => ctx.close());

type Team = Awaited<ReturnType<typeof companyWithTeam>>;

async function team() {
  const created = await companyWithTeam(ctx);
  await call(ctx.app, 'PATCH', `/api/v1/companies/${created.company.id}`, {
    token: created.admin.token,
    body: { country: 'ES' },
  });
  return created;
}

async function upload(t: Team, data: Buffer | string, fields: Record<string, string> = {}, filename = 'leads.csv') {
  const body = await multipart({ file: { data: Buffer.from(data), filename, type: 'text/csv' }, ...fields });
  return call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, { token: t.admin.token, ...body });
}

async function importAndRun(t: Team, data: Buffer | string, fields: Record<string, string> = {}, filename?: string) {
  const response = await upload(t, data, fields, filename);
  expect(response.statusCode, response.body).toBe(202);
  expect(response.body_json.import_file.status).toBe('pending');
  await runJobs(ctx);
  const status = await call(
    ctx.app,
    'GET',
    `/api/v1/companies/${t.company.id}/imports/${response.body_json.import_file.id}`,
    {
      token: t.admin.token,
    },
  );
  return status.body_json.import_file as Json;
}

const leadsOf = async (t: Team) =>
  (
    await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/leads?limit=100&sort=created_at`, {
      token: t.admin.token,
    })
  ).body_json.leads as Json[];

describe('CSV as people export it', () => {
  it('imports a comma CSV with English headers, normalizing emails and phones', async () => {
    const t = await team();
    const result = await importAndRun(
      t,
      'First name,Last name,E-mail,Phone,City\nAna,García,ANA@Example.com ,612 34 56 78,Madrid\nLuis,Pérez,luis@example.com,+34 699 000 111,Sevilla\n',
    );
    expect(result).toMatchObject({
      status: 'completed',
      total_rows: 2,
      processed_rows: 2,
      imported_rows: 2,
      failed_rows: 0,
      progress: 1,
    });
    const leads = await leadsOf(t);
    expect(leads.map((l) => [l.full_name, l.email, l.phone, l.city])).toEqual([
      ['Ana García', 'ana@example.com', '+34612345678', 'Madrid'],
      ['Luis Pérez', 'luis@example.com', '+34699000111', 'Sevilla'],
    ]);
  });

  it('reads semicolons, Windows-1252, Spanish synonyms and quoted delimiters and newlines', async () => {
    const t = await team();
    const text =
      'Nombre;Apellidos;Correo electrónico;Teléfono;Código postal;País;Notas\r\n' +
      'José;Núñez;jose@example.com;612111222;28001;España;"llamar; mañana\npor la tarde"\r\n';
    const bytes = Buffer.from(latin1(text));
    const result = await importAndRun(t, bytes);
    expect(result).toMatchObject({ status: 'completed', imported_rows: 1 });
    const [lead] = await leadsOf(t);
    expect(lead).toMatchObject({
      first_name: 'José',
      last_name: 'Núñez',
      postal_code: '28001',
      country: 'ES',
      phone: '+34612111222',
    });
    const detail = await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/leads/${lead!.id}`, {
      token: t.admin.token,
    });
    expect(detail.body_json.lead.notes[0].body).toBe('llamar; mañana\npor la tarde');
  });

  it('reads tabs and a UTF-8 BOM', async () => {
    const t = await team();
    const result = await importAndRun(
      t,
      `\uFEFFemail\tfirst_name\tUTM campaña\nbom@example.com\tÁngela\t"primavera ""26"""\n`,
    );
    expect(result).toMatchObject({ status: 'completed', imported_rows: 1 });
    // A column that maps to nothing is kept in the lead's attributes.
    expect((await leadsOf(t))[0]).toMatchObject({
      email: 'bom@example.com',
      first_name: 'Ángela',
      attributes: { 'UTM campaña': 'primavera "26"' },
    });
  });

  it('rejects bad rows with reasons, keeps the good ones, and serves every rejected row as CSV', async () => {
    const t = await team();
    const result = await importAndRun(
      t,
      'email,phone,first_name\nok@example.com,,Ok\nnot-an-email,,Bad\n,12,Short\n=cmd|calc,,Evil\n',
    );
    expect(result).toMatchObject({ status: 'completed', imported_rows: 1, failed_rows: 3 });
    expect(result.first_errors.map((e: Json) => e.row)).toEqual([2, 3, 4]);
    const errors = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/companies/${t.company.id}/imports/${result.id}/errors`,
      headers: { authorization: `Bearer ${t.admin.token}` },
    });
    expect(errors.statusCode).toBe(200);
    expect(errors.headers['content-type']).toMatch(/text\/csv/);
    const lines = errors.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe('row,reason,email,phone,first_name');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain("'=cmd|calc");
  });

  it('rejects a row holding a NUL character past the sniffed start of the file, and lists it with the others', async () => {
    const t = await team();
    const good = Array.from({ length: 400 }, (_, i) => `Lead ${i},lead${i}@example.com`).join('\n');
    const result = await importAndRun(
      t,
      `first_name,email\n${good}\nBro\u0000ken,broken@example.com\nLast,last@example.com\n`,
    );
    expect(result).toMatchObject({ status: 'completed', imported_rows: 401, failed_rows: 1 });
    expect(result.first_errors).toEqual([
      { row: 401, reason: 'the row contains a NUL character (is the file damaged?)' },
    ]);
    const errors = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/companies/${t.company.id}/imports/${result.id}/errors`,
      headers: { authorization: `Bearer ${t.admin.token}` },
    });
    expect(errors.body).toContain('Bro\uFFFDken');
  });

  it("holds to the plan's monthly lead limit mid-file: rows past it are rejected, the ones before it land", async () => {
    const admin = await createUser(ctx);
    // No subscription: the free plan, 500 new leads a month.
    const company = await createCompany(ctx, admin);
    const t = { company, admin } as unknown as Team;
    for (let i = 0; i < 10; i++) {
      const created = await call(ctx.app, 'POST', `/api/v1/companies/${company.id}/leads`, {
        token: admin.token,
        body: { email: `api${i}@example.com` },
      });
      expect(created.statusCode).toBe(201);
    }
    const rows = Array.from({ length: 1200 }, (_, i) => `file${i}@example.com`).join('\n');
    const result = await importAndRun(t, `email\n${rows}\n`);
    // 490 fit (across the first batch of 1,000); the 710 after them, in both batches, are refused one by one.
    expect(result).toMatchObject({ status: 'completed', processed_rows: 1200, imported_rows: 490, failed_rows: 710 });
    expect(result.first_errors[0]).toEqual({
      row: 491,
      reason: 'plan_limit_reached: the plan allows 500 new leads a month',
    });
    const metrics = await call(ctx.app, 'GET', `/api/v1/companies/${company.id}/leads/metrics`, { token: admin.token });
    expect(metrics.body_json.metrics.reduce((sum: number, m: Json) => sum + m.count, 0)).toBe(500);

    const again = await importAndRun(t, 'email\nlate@example.com\n');
    expect(again).toMatchObject({ status: 'completed', imported_rows: 0, failed_rows: 1 });
  });

  it('catches duplicates in the file and against existing leads; on_duplicate=update updates', async () => {
    const t = await team();
    await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/leads`, {
      token: t.admin.token,
      body: { email: 'exists@example.com', first_name: 'Old' },
    });
    const csv = 'email,first_name\nexists@example.com,New\nfresh@example.com,Fresh\nFRESH@example.com,Again\n';
    const skipped = await importAndRun(t, csv);
    expect(skipped).toMatchObject({ imported_rows: 1, duplicate_rows: 2, updated_rows: 0 });
    const updated = await importAndRun(t, 'email,first_name\nexists@example.com,Newer\n', { on_duplicate: 'update' });
    expect(updated).toMatchObject({ imported_rows: 0, updated_rows: 1 });
    const leads = await leadsOf(t);
    expect(leads.find((l) => l.email === 'exists@example.com')?.first_name).toBe('Newer');
    expect(leads).toHaveLength(2);
  });

  it('applies an explicit mapping, the import source, and the distribution rules', async () => {
    const t = await team();
    const source = (
      await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/sources`, {
        token: t.admin.token,
        body: { name: 'Fair' },
      })
    ).body_json.source;
    await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/sources/${source.id}/user_accesses`, {
      token: t.admin.token,
      body: { user_access_id: t.agent.userAccessId },
    });
    await call(ctx.app, 'PUT', `/api/v1/companies/${t.company.id}/cycles/enabled`, {
      token: t.admin.token,
      body: { enabled: true },
    });
    const result = await importAndRun(t, 'Contacto,Móvil\nMaría,611222333\n', {
      mapping: JSON.stringify({ Contacto: 'first_name', Móvil: 'phone' }),
      source_id: String(source.id),
    });
    expect(result).toMatchObject({ status: 'completed', imported_rows: 1 });
    const [lead] = await leadsOf(t);
    expect(lead).toMatchObject({
      first_name: 'María',
      phone: '+34611222333',
      source: { id: source.id },
      assigned_user_access_id: t.agent.userAccessId,
    });
  });

  it('fails cleanly on a bad mapping, a corrupt XLSX and a file that is neither', async () => {
    const t = await team();
    const badMapping = await importAndRun(t, 'a,b\n1,2\n', { mapping: JSON.stringify({ a: 'shoe_size' }) });
    expect(badMapping.status).toBe('failed');
    expect(badMapping.error_message).toMatch(/shoe_size/);
    const corrupt = await importAndRun(
      t,
      Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]),
      {},
      'leads.xlsx',
    );
    expect(corrupt.status).toBe('failed');
    const png = await upload(
      t,
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]),
      {},
      'leads.csv',
    );
    expect(png.statusCode).toBe(415);
    const noFile = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.admin.token,
      ...(await multipart({ source_id: '1' })),
    });
    expect(noFile.statusCode).toBe(422);
  });
});

describe('the lead intake', () => {
  it('gives every imported lead its created activity, naming the import and the row, as API leads have one', async () => {
    const t = await team();
    const response = await upload(t, 'email\nfirst@example.com\nsecond@example.com\n');
    await runJobs(ctx);
    const importId = response.body_json.import_file.id as number;
    const [first, second] = await leadsOf(t);
    for (const [lead, row] of [
      [first!, 1],
      [second!, 2],
    ] as const) {
      const timeline = await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/leads/${lead.id}/activities`, {
        token: t.admin.token,
      });
      expect(timeline.body_json.activities).toEqual([
        expect.objectContaining({ kind: 'created', actor_user_id: t.admin.id, data: { import_id: importId, row } }),
      ]);
    }
  });
});

describe('XLSX', () => {
  it('imports the first sheet of an XLSX (mislabelled as .csv too)', async () => {
    const t = await team();
    const data = workbook([
      {
        name: 'Leads',
        rows: [
          ['Nombre', 'Email', 'Teléfono', 'Valor'],
          ['Ana', 'ana.xlsx@example.com', '612000333', 1500.5],
        ],
      },
    ]);
    const result = await importAndRun(t, data, {}, 'leads.csv');
    expect(result).toMatchObject({ status: 'completed', format: 'xlsx', imported_rows: 1 });
    expect((await leadsOf(t))[0]).toMatchObject({ first_name: 'Ana', value: 1500.5, phone: '+34612000333' });
  });
});

describe('status, cancel, template, permissions', () => {
  it('cancels a pending import at once, and 409s a finished one', async () => {
    const t = await team();
    const pending = (await upload(t, 'email\nc@example.com\n')).body_json.import_file;
    const canceled = await call(ctx.app, 'DELETE', `/api/v1/companies/${t.company.id}/imports/${pending.id}`, {
      token: t.admin.token,
    });
    expect(canceled.body_json.import_file.status).toBe('canceled');
    await runJobs(ctx);
    expect(await leadsOf(t)).toEqual([]);
    const done = await importAndRun(t, 'email\nd@example.com\n');
    const again = await call(ctx.app, 'DELETE', `/api/v1/companies/${t.company.id}/imports/${done.id}`, {
      token: t.admin.token,
    });
    expect(again.statusCode).toBe(409);
    const list = await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/imports`, { token: t.manager.token });
    expect(list.body_json.import_files.map((i: Json) => i.id)).toEqual([done.id, pending.id]);
  });

  it('stops a running import at its next batch when canceled; what was written stays', async () => {
    const t = await team();
    const rows = Array.from({ length: 20_000 }, (_, i) => `run${i}@example.com`).join('\n');
    const queued = (await upload(t, `email\n${rows}\n`)).body_json.import_file;
    const url = `/api/v1/companies/${t.company.id}/imports/${queued.id}`;
    const running = runJobs(ctx);
    let seen = queued;
    while (seen.processed_rows === 0 && seen.status !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen = (await call(ctx.app, 'GET', url, { token: t.admin.token })).body_json.import_file;
    }
    const canceling = await call(ctx.app, 'DELETE', url, { token: t.admin.token });
    expect(canceling.body_json.import_file).toMatchObject({ status: 'processing', cancel_requested: true });
    await running;
    const stopped = (await call(ctx.app, 'GET', url, { token: t.admin.token })).body_json.import_file;
    expect(stopped.status).toBe('canceled');
    expect(stopped.finished_at).not.toBeNull();
    expect(stopped.processed_rows).toBeGreaterThanOrEqual(1000);
    expect(stopped.processed_rows).toBeLessThan(20_000);
    const metrics = await call(ctx.app, 'GET', `/api/v1/companies/${t.company.id}/leads/metrics`, {
      token: t.admin.token,
    });
    expect(metrics.body_json.metrics.reduce((sum: number, m: Json) => sum + m.count, 0)).toBe(stopped.imported_rows);
  });

  it('serves the template in CSV and XLSX with the company questions', async () => {
    const t = await team();
    await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/questions`, {
      token: t.admin.token,
      body: { title: 'Presupuesto', kind: 'number' },
    });
    const csv = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/companies/${t.company.id}/imports/template?format=csv`,
      headers: { authorization: `Bearer ${t.admin.token}` },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body).toContain('Presupuesto');
    const xlsx = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/companies/${t.company.id}/imports/template?format=xlsx`,
      headers: { authorization: `Bearer ${t.admin.token}` },
    });
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe('PK');
    // Both templates import as they are.
    const result = await importAndRun(t, csv.rawPayload);
    expect(result.status).toBe('completed');
    const fromXlsx = await importAndRun(t, xlsx.rawPayload, {}, 'template.xlsx');
    expect(fromXlsx).toMatchObject({ status: 'completed', format: 'xlsx' });
  });

  it('lets admins and managers import; agents get 403, outsiders 404', async () => {
    const t = await team();
    const body = await multipart({ file: { data: Buffer.from('email\na@example.com\n'), filename: 'a.csv' } });
    const agent = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.agent.token,
      ...body,
    });
    expect(agent.statusCode).toBe(403);
    const outsider = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.outsider.token,
      ...body,
    });
    expect(outsider.statusCode).toBe(404);
    const manager = await call(ctx.app, 'POST', `/api/v1/companies/${t.company.id}/imports`, {
      token: t.manager.token,
      ...body,
    });
    expect(manager.statusCode).toBe(202);
  });
});

function latin1(text: string): Uint8Array {
  return Uint8Array.from([...text].map((char) => char.charCodeAt(0)));
}

describe('hostile files and what is kept of rejected rows (issue 11)', () => {
  const errorsCsvOf = async (t: Team, id: number) => {
    const response = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/companies/${t.company.id}/imports/${id}/errors`,
      headers: { authorization: `Bearer ${t.admin.token}` },
    });
    expect(response.statusCode).toBe(200);
    return response.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r\n/);
  };

  it('fails an XLSX whose one cell is 200 MB (a 200 KB upload) with the reason, before holding it', async () => {
    const t = await team();
    const before = process.memoryUsage().rss;
    const result = await importAndRun(t, await hugeInlineCell(200_000_000), {}, 'leads.xlsx');
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    expect(result).toMatchObject({
      status: 'failed',
      error_message: 'Row 2 of the sheet has a cell that is longer than 10000 characters.',
    });
  });

  it('keeps a bounded excerpt of each rejected row: 20 columns, 200 characters a value, "…" where cut', async () => {
    const t = await team();
    const names = ['email', ...Array.from({ length: 29 }, (_, i) => `col${i + 1}`)];
    const row = ['not-an-email', 'y'.repeat(5000), ...Array.from({ length: 28 }, (_, i) => `v${i}`)];
    const result = await importAndRun(t, `${names.join(',')}\n${row.join(',')}\n`);
    expect(result).toMatchObject({ status: 'completed', failed_rows: 1 });
    const [stored] = await ctx.database.db.select().from(importErrors).where(eq(importErrors.importFileId, result.id));
    // jsonb orders keys its own way (shorter first).
    expect(Object.keys(stored!.values).sort()).toEqual([...names.slice(0, 20), '…'].sort());
    expect(stored!.values.col1).toBe(`${'y'.repeat(199)}…`);
    expect(stored!.values['…']).toBe('10 more columns not kept');
    expect(Buffer.byteLength(JSON.stringify(stored!.values))).toBeLessThan(4096);
    const [file] = await ctx.database.db.select().from(importFiles).where(eq(importFiles.id, result.id));
    expect(file).toMatchObject({ storedErrorRows: 1 });
    expect(file!.errorsBytes).toBeGreaterThan(200);
  });

  it('keeps at most 10,000 rejected rows an import; counts stay exact and the errors CSV says the rest were not kept', async () => {
    const t = await team();
    const rows = Array.from({ length: 10_050 }, (_, i) => `bad-${i},Name ${i}`);
    const result = await importAndRun(t, `email,first_name\n${rows.join('\n')}\n`);
    expect(result).toMatchObject({ status: 'completed', processed_rows: 10_050, failed_rows: 10_050 });
    const lines = await errorsCsvOf(t, result.id);
    expect(lines).toHaveLength(1 + 10_000 + 1);
    expect(lines.at(-2)).toMatch(/^10000,/);
    expect(lines.at(-1)).toMatch(/^…,"50 more rejected or skipped rows were counted but not kept/);
  });

  it("refuses an upload past the plan's storage quota with 422 plan_limit_reached, writing nothing", async () => {
    const t = await team();
    const code = `storage-${Date.now()}`;
    const [plan] = await ctx.database.db
      .insert(memberships)
      .values({
        code,
        name: 'Small',
        priceCents: 0,
        currency: 'USD',
        interval: 'month',
        maxStorageBytes: 300,
        active: false,
      })
      .returning();
    await ctx.database.db
      .update(subscriptions)
      .set({ membershipId: plan!.id })
      .where(eq(subscriptions.companyId, t.company.id));
    const small = 'email\nok@example.com\n'; // 23 bytes
    expect((await upload(t, small)).statusCode).toBe(202);
    const large = `email,notes\nbig@example.com,${'x'.repeat(400)}\n`;
    const refused = await upload(t, large);
    expect(refused.statusCode).toBe(422);
    expect(refused.body_json).toMatchObject({
      code: 'plan_limit_reached',
      errors: [{ field: 'max_storage_bytes', code: 'plan_limit_reached' }],
    });
    const imports = await ctx.database.db.select().from(importFiles).where(eq(importFiles.companyId, t.company.id));
    expect(imports).toHaveLength(1);
    const stored = await readdir(join(ctx.config.dataDir, 'files', 'imports', String(t.company.id))).catch(() => []);
    expect(stored).toHaveLength(1);
  });
});
