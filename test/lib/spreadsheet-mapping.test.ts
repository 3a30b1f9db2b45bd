import { describe, expect, it } from 'vitest';
import {
  applyMapping,
  csvLine,
  errorsCsv,
  mapHeaders,
  mappingProblems,
  neutralizeCell,
  openSheet,
  type RejectedRow,
  SpreadsheetError,
  splitFullName,
} from '../../src/lib/spreadsheet/index.ts';

const questions = [
  { id: 7, title: 'Presupuesto' },
  { id: 9, title: '¿Cuándo prefiere que le llamemos?' },
];

const targets = (headers: string[], mapping?: Record<string, string>) =>
  Object.fromEntries(
    mapHeaders(headers, { questions, mapping }).columns.map((column) => [column.header, column.target]),
  );

describe('mapHeaders', () => {
  it('maps the template names exactly', () => {
    const headers = ['first_name', 'last_name', 'email', 'phone', 'postal_code', 'external_id', 'stage', 'Presupuesto'];
    const mapping = mapHeaders(headers, { questions });
    expect(mapping.columns.every((column) => column.by === 'template')).toBe(true);
    expect(mapping.fields).toMatchObject({ first_name: 'first_name', postal_code: 'postal_code', stage: 'stage' });
    expect(mapping.questions).toEqual([{ id: 7, header: 'Presupuesto' }]);
    expect(mapping.unmapped).toEqual([]);
  });

  it('maps Spanish synonyms with accents and odd casing', () => {
    expect(
      targets([
        'NOMBRE',
        'Apellidos',
        'Correo Electrónico',
        'TELÉFONO',
        'País',
        'Provincia',
        'Localidad',
        'Código Postal',
        'Importe',
        'Divisa',
        'Referencia',
        'Etapa',
        'Origen',
        'Campaña',
        'Observaciones',
      ]),
    ).toEqual({
      NOMBRE: 'first_name',
      Apellidos: 'last_name',
      'Correo Electrónico': 'email',
      TELÉFONO: 'phone',
      País: 'country',
      Provincia: 'region',
      Localidad: 'city',
      'Código Postal': 'postal_code',
      Importe: 'value',
      Divisa: 'currency',
      Referencia: 'external_id',
      Etapa: 'stage',
      Origen: 'source',
      Campaña: 'campaign',
      Observaciones: 'notes',
    });
  });

  it('maps English synonyms ignoring spaces, underscores, hyphens and punctuation', () => {
    expect(
      targets(['First Name', 'SURNAME', 'E-mail', 'Mobile', 'State', 'Town', 'ZIP code', 'Amount', 'Currency', 'Ref']),
    ).toEqual({
      'First Name': 'first_name',
      SURNAME: 'last_name',
      'E-mail': 'email',
      Mobile: 'phone',
      State: 'region',
      Town: 'city',
      'ZIP code': 'postal_code',
      Amount: 'value',
      Currency: 'currency',
      Ref: 'external_id',
    });
    for (const [header, field] of [
      ['e_mail', 'email'],
      ['Correo-E', 'email'],
      ['C.P.', 'postal_code'],
      ['zip-code', 'postal_code'],
      ['Móvil', 'phone'],
      ['celular', 'phone'],
      ['Nº teléfono', 'phone'],
      ['Phone #', 'phone'],
      ['Ｅｍａｉｌ', 'email'],
      ['Número de teléfono', 'phone'],
      ['Comunidad Autónoma', 'region'],
    ]) {
      expect(targets([header!])[header!], header!).toBe(field);
    }
  });

  it('maps question titles loosely and leaves unknown columns unmapped', () => {
    const mapping = mapHeaders(['presupuesto', 'cuando prefiere que le llamemos', 'Color favorito', 'email'], {
      questions,
    });
    expect(mapping.questions).toEqual([
      { id: 7, header: 'presupuesto' },
      { id: 9, header: 'cuando prefiere que le llamemos' },
    ]);
    expect(mapping.unmapped).toEqual(['Color favorito']);
  });

  it('gives a target to the first column that claims it', () => {
    const mapping = mapHeaders(['Teléfono', 'Móvil', 'Email', 'email (2)'], { questions });
    expect(mapping.fields.phone).toBe('Teléfono');
    expect(mapping.unmapped).toEqual(['Móvil', 'email (2)']);
  });

  it('reads a full-name column, or a first name when it sits next to a last name', () => {
    expect(mapHeaders(['Nombre completo', 'Email'], { questions }).fields.full_name).toBe('Nombre completo');
    expect(mapHeaders(['Name', 'Email'], { questions }).fields.full_name).toBe('Name');
    expect(mapHeaders(['Name', 'Surname'], { questions }).fields).toEqual({ first_name: 'Name', last_name: 'Surname' });
  });

  it('applies an explicit mapping first, by exact or loose column name', () => {
    const mapping = mapHeaders(['Col A', 'Email', 'Telf. trabajo', 'Budget', 'Phone'], {
      questions,
      mapping: { 'col a': 'email', 'Telf. trabajo': 'phone', Budget: 'question:7', Phone: 'ignore' },
    });
    expect(mapping.columns).toEqual([
      { header: 'Col A', target: 'email', by: 'mapping' },
      { header: 'Email', target: null, by: null },
      { header: 'Telf. trabajo', target: 'phone', by: 'mapping' },
      { header: 'Budget', target: 'question:7', by: 'mapping' },
      { header: 'Phone', target: null, by: 'mapping' },
    ]);
    expect(mapping.unmapped).toEqual(['Email']);
    expect(mapping.ignored).toEqual(['Phone']);
  });

  it('refuses an unknown target, listing the valid ones', () => {
    const error = (() => {
      try {
        mapHeaders(['A'], { questions, mapping: { A: 'emial' } });
      } catch (caught) {
        return caught as SpreadsheetError;
      }
    })();
    expect(error).toBeInstanceOf(SpreadsheetError);
    expect(error?.code).toBe('invalid_mapping');
    expect(error?.message).toContain('Column "A": unknown target "emial"; valid targets are first_name, last_name');
    expect(error?.message).toContain('question:7, question:9, or ignore.');
  });

  it('refuses a mapping to a missing column, a question of no one, or one target twice', () => {
    expect(() => mapHeaders(['A'], { questions, mapping: { B: 'email' } })).toThrow(
      'The mapping names column "B", which the file does not have.',
    );
    expect(mappingProblems({ A: 'question:8' }, questions)[0]).toMatch(/unknown target "question:8"/);
    expect(mappingProblems({ A: 'email', B: 'email' }, questions)).toEqual([
      'Columns "A" and "B" are both mapped to email.',
    ]);
    expect(mappingProblems({ A: 'email', B: 'question:9', C: '' }, questions)).toEqual([]);
  });
});

describe('applyMapping and full names', () => {
  it('splits a full name where first and last name are missing', () => {
    expect(splitFullName('  Ana  García López ')).toEqual({ first_name: 'Ana', last_name: 'García López' });
    expect(splitFullName('García López, Ana')).toEqual({ first_name: 'Ana', last_name: 'García López' });
    expect(splitFullName('Cher')).toEqual({ first_name: 'Cher', last_name: '' });
  });

  it('builds fields, answers and unmapped values from a row', () => {
    const mapping = mapHeaders(['Nombre y apellidos', 'Correo', 'Presupuesto', 'Color', 'Talla'], { questions });
    const row = applyMapping(mapping, {
      'Nombre y apellidos': 'José Núñez Peña',
      Correo: 'jose@example.com',
      Presupuesto: '3000',
      Color: 'azul',
      Talla: '',
    });
    expect(row).toEqual({
      fields: { first_name: 'José', last_name: 'Núñez Peña', email: 'jose@example.com' },
      answers: [{ id: 7, value: '3000' }],
      unmapped: { Color: 'azul' },
    });
  });

  it('keeps separate first/last name columns over the full name', () => {
    const mapping = mapHeaders(['First name', 'Last name', 'Full name'], { questions });
    expect(
      applyMapping(mapping, { 'First name': 'Ana', 'Last name': '', 'Full name': 'Ana María García' }).fields,
    ).toEqual({ first_name: 'Ana', last_name: 'María García' });
  });
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('errors CSV', () => {
  const headers = ['name', 'phone', 'notes'];
  async function* rejected(): AsyncGenerator<RejectedRow> {
    yield { rowNumber: 3, reason: 'email: not an email address', values: { name: "=cmd|' /C calc'!A0", phone: '+1' } };
    yield {
      rowNumber: 8,
      reason: '-2 is not a value',
      values: { name: '@SUM(A1:A9)', phone: '-2', notes: 'a "b", c\nd' },
    };
    yield { rowNumber: 9, reason: 'duplicate', values: { name: '\tTabbed', phone: '\rCR', notes: 'Peña' } };
  }

  it('writes row, reason and the original columns, neutralized and RFC 4180 quoted, with a BOM', async () => {
    const csv = await text(errorsCsv(rejected(), headers));
    expect(csv).toBe(
      '\ufeffrow,reason,name,phone,notes\r\n' +
        `3,email: not an email address,'=cmd|' /C calc'!A0,'+1,\r\n` +
        `8,'-2 is not a value,'@SUM(A1:A9),'-2,"a ""b"", c\nd"\r\n` +
        `9,duplicate,'\tTabbed,"'\rCR",Peña\r\n`,
    );
  });

  it('reads back to the original values with our own reader', async () => {
    const sheet = await openSheet(errorsCsv(rejected(), headers));
    const rows = [];
    for await (const row of sheet.rows) rows.push(row.values);
    expect(sheet.headers).toEqual(['row', 'reason', ...headers]);
    expect(rows.map((row) => [row.name, row.phone])).toEqual([
      ["=cmd|' /C calc'!A0", '+1'],
      ['@SUM(A1:A9)', '-2'],
      ['Tabbed', 'CR'],
    ]);
  });

  it('neutralizes each formula start and nothing else', () => {
    expect(['=1', '+1', '-1', '@a', '\ta', '\ra', 'a=1', "'=1", ''].map(neutralizeCell)).toEqual([
      "'=1",
      "'+1",
      "'-1",
      "'@a",
      "'\ta",
      "'\ra",
      'a=1',
      "'=1",
      '',
    ]);
    expect(csvLine(['a;b', 'c'], ';')).toBe('"a;b";c\r\n');
  });
});
