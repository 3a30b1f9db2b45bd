import { Readable } from 'node:stream';
import { strFromU8, unzipSync } from 'fflate';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { commentSplitCell, hugeInlineCell, hugeSharedString, wideSharedRows } from '../../bench/hostile-files.ts';
import {
  type OpenSheetOptions,
  openSheet,
  type SheetRow,
  SpreadsheetError,
  writeTemplate,
} from '../../src/lib/spreadsheet/index.ts';
import { type CellSpec, MAIN, SPREADSHEET, xlsx, type ZipPart, zip } from '../helpers/xlsx.ts';

function streamOf(bytes: Buffer, chunkSize = 16 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

async function read(bytes: Buffer, options: OpenSheetOptions = {}) {
  const sheet = await openSheet(streamOf(bytes), options);
  const rows: SheetRow[] = [];
  for await (const row of sheet.rows) rows.push(row);
  return { ...sheet, rows, values: rows.map((row) => row.values) };
}

async function failure(promise: Promise<unknown>): Promise<SpreadsheetError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SpreadsheetError);
  expect((error as Error).message).not.toMatch(/node_modules|\/tmp\/|\/work\/|\.xml|at .+:\d+/);
  return error as SpreadsheetError;
}

const contentTypes = (sharedStrings: boolean) =>
  `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
  `<Override PartName="/xl/workbook.xml" ContentType="${SPREADSHEET}.sheet.main+xml"/>` +
  `<Override PartName="/xl/worksheets/sheet1.xml" ContentType="${SPREADSHEET}.worksheet+xml"/>` +
  (sharedStrings ? `<Override PartName="/xl/sharedStrings.xml" ContentType="${SPREADSHEET}.sharedStrings+xml"/>` : '') +
  '</Types>';
const WORKBOOK =
  '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
  'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
  '<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>';
const RELS =
  '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" ' +
  'Target="worksheets/sheet1.xml"/></Relationships>';
const SHARED_STRINGS =
  '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>email</t></si><si><t>city</t></si>' +
  '<si><t>ana@example.com</t></si><si><r><t>Logro</t></r><r><rPr><b/></rPr><t>ño</t></r></si></sst>';
const sheetXml = (rows: string) =>
  `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
const SHEET = sheetXml(
  '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' +
    '<row r="3"><c r="A3" t="s"><v>2</v></c><c r="B3" t="s"><v>3</v></c></row>',
);
/** Parts in the order that lets the reader stream the sheet straight from the zip. */
const streamable = (sheet: Partial<ZipPart> = {}): ZipPart[] => [
  { name: '[Content_Types].xml', data: contentTypes(true) },
  { name: 'xl/workbook.xml', data: WORKBOOK },
  { name: 'xl/_rels/workbook.xml.rels', data: RELS },
  { name: 'xl/sharedStrings.xml', data: SHARED_STRINGS },
  { name: 'xl/worksheets/sheet1.xml', data: SHEET, ...sheet },
];

describe('XLSX cells', () => {
  it('converts numbers, dates, formulas, rich text and booleans to text', async () => {
    const bytes = xlsx([
      {
        name: 'Leads',
        rows: [
          ['name', 'value', 'float', 'date', 'when', 'double', 'greeting', 'rich', 'vip', 'error', 'link'],
          [
            'Ana',
            1500,
            0.1 + 0.2,
            new Date(Date.UTC(2024, 0, 31)),
            { value: new Date(Date.UTC(2024, 0, 31, 9, 30)), numFmt: 'yyyy-mm-dd hh:mm' },
            { formula: 'B2*2', result: 3000 },
            { formula: '"Hola "&A2', result: 'Hola Ana' },
            { richText: ['Muy ', 'interesado'] },
            true,
            { formula: '1/0', result: { error: '#DIV/0!' } },
            { text: 'site', hyperlink: 'https://example.com' },
          ],
        ],
      },
    ]);
    const sheet = await read(bytes);
    expect(sheet.format).toBe('xlsx');
    expect(sheet.values).toEqual([
      {
        name: 'Ana',
        value: '1500',
        float: '0.3',
        date: '2024-01-31',
        when: '2024-01-31 09:30:00',
        double: '3000',
        greeting: 'Hola Ana',
        rich: 'Muy interesado',
        vip: 'true',
        error: '',
        link: 'site',
      },
    ]);
  });

  it('reads a formula whose cached result is a date in a date format', async () => {
    const bytes = xlsx([
      { rows: [['next_call'], [{ value: { formula: 'TODAY()', result: 45322 }, numFmt: 'dd/mm/yyyy' }]] },
    ]);
    expect((await read(bytes)).values).toEqual([{ next_call: '2024-01-31' }]);
  });

  it('reads error values as empty, formulas by their cached type, and number formats that are not dates', async () => {
    const row: CellSpec[] = [
      { error: '#N/A' },
      { formula: 'A1=A1', result: true },
      { formula: 'NOW()' },
      { value: 1234.5, numFmt: '"Total: "#,##0.00' },
      { value: 0.25, numFmt: '0.00%' },
      { value: 7, numFmt: '[Red]0' },
      { value: 45322.75, numFmt: '[$-409]d-mmm-yy h:mm' },
    ];
    const bytes = xlsx([{ rows: [['na', 'same', 'never', 'total', 'share', 'red', 'custom_date'], row] }]);
    expect((await read(bytes)).values).toEqual([
      {
        na: '',
        same: 'true',
        never: '',
        total: '1234.5',
        share: '0.25',
        red: '7',
        custom_date: '2024-01-31 18:00:00',
      },
    ]);
  });

  it('reads dates of a workbook that counts from 1904', async () => {
    const date = (serial: number) => ({ value: serial, numFmt: 'yyyy-mm-dd' });
    const rows = [
      ['first_day', 'day'],
      [date(0), date(43_860)],
    ];
    expect((await read(xlsx([{ rows }], { date1904: true }))).values).toEqual([
      { first_day: '1904-01-01', day: '2024-01-31' },
    ]);
    expect((await read(xlsx([{ rows }]))).values).toEqual([{ first_day: '1899-12-30', day: '2020-01-30' }]);
  });

  it('reads what other writers write: prefixed elements, rows and cells without references, ISO dates, phonetic runs', async () => {
    const inline = (text: string) => `<x:c t="inlineStr"><x:is><x:t>${text}</x:t></x:is></x:c>`;
    const sheet =
      `<x:worksheet xmlns:x="${MAIN}"><x:sheetData>` +
      `<x:row>${inline('email')}<x:c t="s"><x:v>1</x:v></x:c>${inline('when')}${inline('name')}</x:row>` +
      `<x:row>${inline('a@x.io')}<x:c t="s"><x:v>2</x:v></x:c><x:c t="d"><x:v>2024-01-31T09:30:00</x:v></x:c>` +
      '<x:c t="inlineStr"><x:is><x:r><x:t>Logro</x:t></x:r><x:r><x:t>ño</x:t></x:r>' +
      '<x:rPh sb="0" eb="1"><x:t>ろぐろにょ</x:t></x:rPh></x:is></x:c></x:row>' +
      '</x:sheetData></x:worksheet>';
    const strings =
      `<sst xmlns="${MAIN}"><si><t>email</t></si><si><t>city</t></si>` +
      '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1"/></si></sst>';
    const parts = streamable({ data: sheet });
    parts[3] = { name: 'xl/sharedStrings.xml', data: strings };
    const { rows } = await read(zip(parts));
    expect(rows).toEqual([
      {
        rowNumber: 1,
        line: 2,
        values: { email: 'a@x.io', city: '東京', when: '2024-01-31 09:30:00', name: 'Logroño' },
      },
    ]);
  });

  it('numbers rows like the sheet does and skips empty rows and cells', async () => {
    const bytes = xlsx([
      { cells: { A2: 'email', C2: 'city', A4: 'a@x.io', C4: 'Madrid', B6: '  ', C7: 'Bilbao', E7: 'stray' } },
    ]);
    const sheet = await read(bytes);
    expect(sheet.headers).toEqual(['email', 'column_2', 'city']);
    expect(sheet.rows).toEqual([
      { rowNumber: 1, line: 4, values: { email: 'a@x.io', column_2: '', city: 'Madrid' } },
      { rowNumber: 2, line: 7, values: { email: '', column_2: '', city: 'Bilbao' }, extra: ['stray'] },
    ]);
  });

  it('reads only the first sheet', async () => {
    const bytes = xlsx([
      { name: 'Leads', rows: [['email'], ['first@x.io']] },
      { name: 'Other', rows: [['phone'], ['600']] },
    ]);
    expect((await read(bytes)).values).toEqual([{ email: 'first@x.io' }]);
  });

  it('reads inline strings (a workbook without shared strings)', async () => {
    const bytes = xlsx(
      [
        {
          rows: [
            ['email', 'name'],
            ['a@x.io', 'José Núñez'],
          ],
        },
      ],
      { sharedStrings: false },
    );
    expect((await read(bytes)).values).toEqual([{ email: 'a@x.io', name: 'José Núñez' }]);
  });

  it('streams the sheet straight from the zip when its parts come first (the rest is never read)', async () => {
    // Garbage after the sheet: reading on would fail, so passing proves the sheet was not spooled to disk first.
    const bytes = zip(streamable(), Buffer.from('PK\x03\x04 this is not a zip entry at all', 'latin1'));
    const sheet = await read(bytes);
    expect(sheet.headers).toEqual(['email', 'city']);
    expect(sheet.rows).toEqual([{ rowNumber: 1, line: 3, values: { email: 'ana@example.com', city: 'Logroño' } }]);
  });

  it('reads the first sheet of a file with the parts in any order', async () => {
    const parts = streamable();
    const bytes = zip([parts[4]!, parts[3]!, parts[2]!, parts[1]!, parts[0]!]);
    expect((await read(bytes)).values).toEqual([{ email: 'ana@example.com', city: 'Logroño' }]);
  });

  it('reads the first worksheet in tab order, skipping a chart sheet', async () => {
    const rel = (id: string, type: string, target: string) =>
      `<Relationship Id="${id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/${type}" ` +
      `Target="${target}"/>`;
    const bytes = zip([
      { name: '[Content_Types].xml', data: contentTypes(true) },
      {
        name: 'xl/workbook.xml',
        data: WORKBOOK.replace(
          /<sheets>.*<\/sheets>/,
          '<sheets><sheet name="Chart" sheetId="3" r:id="rId2"/><sheet name="Data" sheetId="2" r:id="rId3"/>' +
            '<sheet name="Old" sheetId="1" r:id="rId1"/></sheets>',
        ),
      },
      {
        name: 'xl/_rels/workbook.xml.rels',
        data:
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          rel('rId1', 'worksheet', 'worksheets/sheet1.xml') +
          rel('rId2', 'chartsheet', 'chartsheets/sheet1.xml') +
          rel('rId3', 'worksheet', '/xl/worksheets/sheet2.xml') +
          '</Relationships>',
      },
      { name: 'xl/sharedStrings.xml', data: SHARED_STRINGS },
      { name: 'xl/chartsheets/sheet1.xml', data: '<chartsheet/>' },
      {
        name: 'xl/worksheets/sheet1.xml',
        data: sheetXml('<row r="1"><c r="A1" t="inlineStr"><is><t>old</t></is></c></row>'),
      },
      { name: 'xl/worksheets/sheet2.xml', data: SHEET },
    ]);
    expect((await read(bytes)).values).toEqual([{ email: 'ana@example.com', city: 'Logroño' }]);
  });

  it('spools sheets that come before the workbook says which is first, and reads only the first', async () => {
    const [types, workbook, rels, strings, sheet] = streamable();
    const broken = { name: 'xl/worksheets/sheet2.xml', data: '<worksheet><sheetData><row><c r="XFE1">' };
    const bytes = zip([broken, sheet!, types!, workbook!, rels!, strings!]);
    expect((await read(bytes)).values).toEqual([{ email: 'ana@example.com', city: 'Logroño' }]);
  });

  it('detects XLSX by content, even when called a CSV', async () => {
    const bytes = xlsx([{ rows: [['email'], ['a@x.io']] }]);
    const sheet = await read(bytes);
    expect(sheet.format).toBe('xlsx');
    expect(sheet.values).toEqual([{ email: 'a@x.io' }]);
  });
});

describe('XLSX failures and caps', () => {
  it('refuses random bytes after the zip signature', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 256;
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const bytes = Buffer.concat([
        Buffer.from('PK\x03\x04', 'latin1'),
        Buffer.from(Array.from({ length: 4000 }, random)),
      ]);
      const error = await failure(read(bytes));
      expect(['corrupt_file', 'unsupported_format', 'too_large']).toContain(error.code);
    }
  });

  it('refuses a truncated workbook', async () => {
    const bytes = xlsx([{ rows: [['email'], ...Array.from({ length: 2000 }, (_, i) => [`user${i}@example.com`])] }]);
    const error = await failure(read(bytes.subarray(0, Math.floor(bytes.length * 0.6))));
    expect(error.code).toBe('corrupt_file');
    expect(error.message).toMatch(/could not be read/);
  });

  it('refuses a sheet whose XML is broken', async () => {
    const bytes = zip(streamable({ data: '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></row>' }));
    expect((await failure(read(bytes))).code).toBe('corrupt_file');
  });

  it('refuses a zip that is not a workbook', async () => {
    const bytes = zip([
      { name: '[Content_Types].xml', data: '<Types><Override PartName="/doc.xml" ContentType="text/plain"/></Types>' },
      { name: 'doc.xml', data: '<doc/>' },
    ]);
    expect((await failure(read(bytes))).code).toBe('unsupported_format');
    expect((await failure(read(zip([{ name: 'a.txt', data: 'hello' }])))).code).toBe('unsupported_format');
  });

  it('refuses a zip bomb by its declared size before inflating it', async () => {
    const padding = ' '.repeat(20 * 1024 * 1024);
    const bytes = zip(streamable({ data: sheetXml(padding) }));
    expect(bytes.length).toBeLessThan(100_000);
    const error = await failure(read(bytes, { maxUncompressedBytes: 1024 * 1024 }));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/^The workbook is too large once unzipped/);
  });

  it('refuses a zip bomb that hides its size, by counting inflated bytes', async () => {
    const rows = Array.from(
      { length: 5 },
      (_, i) => `<row r="${i + 2}"><c r="A${i + 2}" t="s"><v>2</v></c></row>`,
    ).join('');
    // Padded with elements: a run of whitespace this long would be refused sooner, as text held by a value.
    const bytes = zip(streamable({ data: sheetXml(rows + '<x/>'.repeat(1024 * 1024)), descriptor: true }));
    expect((await failure(read(bytes, { maxUncompressedBytes: 256 * 1024 }))).code).toBe('too_large');
  });

  it('caps the whole workbook, the shared strings and the small parts', async () => {
    const bytes = xlsx([
      { rows: [['email', 'name'], ...Array.from({ length: 3000 }, (_, i) => [`user${i}@example.com`, `Name ${i}`])] },
    ]);
    expect((await read(bytes)).rows).toHaveLength(3000);
    expect((await failure(read(bytes, { maxUncompressedBytes: 100_000 }))).code).toBe('too_large');
    expect((await failure(read(bytes, { maxSharedStringsBytes: 10_000 }))).message).toContain('the shared strings');
    expect((await failure(read(bytes, { maxPartBytes: 100 }))).code).toBe('too_large');
  });

  it('caps what a sheet read before its shared strings leaves on disk, not only its XML', async () => {
    // Quotes take twice the room as JSON (\"): the rows kept on disk outgrow the XML they come from.
    const quotes = Array.from(
      { length: 4 },
      (_, i) => `<row r="${i + 2}"><c t="inlineStr"><is><t>${'"'.repeat(9000)}</t></is></c></row>`,
    );
    const [types, workbook, rels, strings] = streamable();
    const parts = [
      types!,
      workbook!,
      rels!,
      { name: 'xl/worksheets/sheet1.xml', data: sheetXml(`<row r="1"><c t="s"><v>0</v></c></row>${quotes.join('')}`) },
      strings!,
    ];
    expect((await read(zip(parts))).rows).toHaveLength(4);
    const error = await failure(read(zip(parts), { maxUncompressedBytes: 50_000 }));
    expect(error.code).toBe('too_large');
    expect(error.message).toContain('(a worksheet over'); // not 'all parts': the XML itself is under the cap
  });

  it('refuses more rows than the cap', async () => {
    const bytes = xlsx([{ rows: [['email'], ...Array.from({ length: 10 }, (_, i) => [`user${i}@example.com`])] }]);
    const error = await failure(read(bytes, { maxRows: 3 }));
    expect(error.code).toBe('too_many_rows');
  });

  it('refuses a cell beyond column XFD', async () => {
    for (const cells of ['<c r="XFE1"><v>1</v></c>', `<c r="XFD1"><v>1</v></c><c><v>2</v></c>`]) {
      const error = await failure(read(zip(streamable({ data: sheetXml(`<row r="1">${cells}</row>`) }))));
      expect(error.code).toBe('too_many_columns');
    }
  });

  it('refuses a sheet that refers to shared strings the workbook does not have', async () => {
    const bytes = zip([
      { name: '[Content_Types].xml', data: contentTypes(false) },
      ...streamable().filter((part) => part.name !== 'xl/sharedStrings.xml' && part.name !== '[Content_Types].xml'),
    ]);
    expect((await failure(read(bytes))).code).toBe('corrupt_file');
  });

  it('refuses a workbook with no worksheet', async () => {
    const bytes = zip(streamable().slice(0, 4));
    expect((await failure(read(bytes))).message).toBe('The workbook has no worksheet.');
  });
});

describe('template round trip', () => {
  const questions = [{ title: 'Presupuesto' }, { title: '¿Cuándo llamar?' }];
  const expectedHeaders = [
    'first_name',
    'last_name',
    'email',
    'phone',
    'country',
    'region',
    'city',
    'postal_code',
    'value',
    'currency',
    'external_id',
    'stage',
    'source',
    'campaign',
    'notes',
    'Presupuesto',
    '¿Cuándo llamar?',
  ];

  it.each(['csv', 'xlsx'] as const)('reads back its own %s template', async (format) => {
    const bytes = await writeTemplate(format, { questions });
    const sheet = await read(bytes);
    expect(sheet.format).toBe(format);
    expect(sheet.headers).toEqual(expectedHeaders);
    expect(sheet.values).toHaveLength(1);
    expect(sheet.values[0]).toMatchObject({
      first_name: 'Ana',
      last_name: 'García',
      email: 'ana@example.com',
      phone: '+34 600 000 000',
      postal_code: '28001',
      value: '1500',
      Presupuesto: '',
    });
  });

  it('writes the XLSX template with a frozen bold header, text columns but the value, and no formulas', async () => {
    const parts = unzipSync(await writeTemplate('xlsx', { questions }));
    const part = (name: string) => strFromU8(parts[name]!);
    for (const [name, bytes] of Object.entries(parts)) expect(wellFormed(strFromU8(bytes)), name).toBe(true);
    const sheet = part('xl/worksheets/sheet1.xml');
    expect(sheet).toContain('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>');
    const styles = part('xl/styles.xml');
    const cellXfs = [.../<cellXfs[^>]*>(.*)<\/cellXfs>/.exec(styles)![1]!.matchAll(/<xf [^>]*>/g)].map(([xf]) => xf);
    const fonts = [.../<fonts[^>]*>(.*)<\/fonts>/.exec(styles)![1]!.matchAll(/<font>.*?<\/font>/g)].map(
      ([font]) => font,
    );
    const styleOf = (attributes: string) => cellXfs[Number(/ s(?:tyle)?="(\d+)"/.exec(attributes)![1])]!;
    const cell = (ref: string) => new RegExp(`<c r="${ref}"([^>]*)>(.*?)</c>`).exec(sheet)!;
    const column = (n: number) => new RegExp(`<col min="${n}" max="${n}"([^>]*)/>`).exec(sheet)![1]!;
    // The header is bold.
    expect(fonts[Number(/fontId="(\d+)"/.exec(styleOf(cell('A1')[1]!))![1])]).toContain('<b/>');
    // The phone is a text cell in a text column ('@' is built-in format 49), so Excel keeps its + and spaces.
    expect(cell('D2')[1]).toContain('t="inlineStr"');
    expect(cell('D2')[2]).toContain('>+34 600 000 000</t>');
    expect(styleOf(cell('D2')[1]!)).toContain('numFmtId="49"');
    expect(styleOf(column(4))).toContain('numFmtId="49"');
    expect(styleOf(column(16))).toContain('numFmtId="49"'); // a question's column
    // The value is a number in a General column.
    expect(cell('I2')[2]).toBe('<v>1500</v>');
    expect(styleOf(column(9))).toContain('numFmtId="0"');
    expect(sheet).not.toContain('<f>');
  });

  it('writes question titles XML cannot hold without the characters it cannot hold', async () => {
    const bytes = await writeTemplate('xlsx', { questions: [{ title: 'Bad\u0001 <title> & "more"\ud800' }] });
    expect((await read(bytes)).headers.at(-1)).toBe('Bad <title> & "more"');
  });

  it('neutralizes the phone in the CSV template and adds a BOM', async () => {
    const text = (await writeTemplate('csv', { questions })).toString('utf8');
    expect(text.startsWith('\ufefffirst_name,last_name,email,phone,')).toBe(true);
    expect(text).toContain("ana@example.com,'+34 600 000 000,ES");
    expect(text.endsWith('\r\n')).toBe(true);
    expect((await writeTemplate('csv', { questions, delimiter: ';' })).toString()).toContain('first_name;last_name');
  });
});

function wellFormed(xml: string): boolean {
  const parser = new SaxesParser();
  try {
    parser.write(xml).close();
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS and heap growth (MB) over the run of `work`, sampled every 5 ms. */
async function growth(work: () => Promise<unknown>) {
  const before = process.memoryUsage();
  let rss = before.rss;
  let heap = before.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    heap = Math.max(heap, now.heapUsed);
  };
  const timer = setInterval(sample, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
    sample();
  }
  return { rss: (rss - before.rss) / 2 ** 20, heap: (heap - before.heapUsed) / 2 ** 20 };
}

describe('XLSX memory: a value over the cap is refused while it streams (issue 11)', () => {
  const BOUND_MB = 100;

  it('refuses a 200 MB inline cell from a ~200 KB file without holding it', async () => {
    const bytes = await hugeInlineCell(200_000_000);
    expect(bytes.length).toBeLessThan(300_000);
    let error: SpreadsheetError | undefined;
    const grew = await growth(async () => {
      error = await failure(read(bytes));
    });
    expect(grew.rss).toBeLessThan(BOUND_MB);
    expect(grew.heap).toBeLessThan(BOUND_MB);
    expect(error!.code).toBe('field_too_long');
    expect(error!.message).toBe('Row 2 of the sheet has a cell that is longer than 10000 characters.');
  });

  it('refuses a long shared string while the shared strings stream, and one split by comments', async () => {
    for (const bytes of [await hugeSharedString(20_000_000), await commentSplitCell(100_000_000)]) {
      let error: SpreadsheetError | undefined;
      const grew = await growth(async () => {
        error = await failure(read(bytes));
      });
      expect(error!.code).toBe('field_too_long');
      expect(grew.rss).toBeLessThan(BOUND_MB);
    }
  });

  it('refuses a row whose cells name one long shared string 16,384 times, looking them up a row at a time', async () => {
    const bytes = await wideSharedRows(2, 9_000);
    let error: SpreadsheetError | undefined;
    const grew = await growth(async () => {
      error = await failure(read(bytes));
    });
    expect(error!.message).toBe('Row 2 of the sheet holds more than 1000000 characters of text.');
    expect(grew.rss).toBeLessThan(BOUND_MB);
  });

  it('counts characters, not bytes: a 9,000-character cell of accents, entities and emoji reads whole', async () => {
    const text = 'é&amp;😀'.repeat(2000) + 'x'.repeat(1000); // 2,000 × 4 UTF-16 units + 1,000 = 9,000
    const bytes = zip(
      streamable({
        data: sheetXml(
          `<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>` +
            `<row r="2"><c r="A2" t="inlineStr"><is><t>  ${text}  </t></is></c></row>`,
        ),
      }),
    );
    const { values } = await read(bytes);
    expect(values[0]!.email).toHaveLength(9000);
  });

  it('refuses a DOCTYPE (entity expansion) and a tag longer than 64 KB as damaged', async () => {
    const doctype = zip(streamable({ data: `<!DOCTYPE x [<!ENTITY a "aaaa">]>${SHEET}` }));
    expect((await failure(read(doctype))).code).toBe('corrupt_file');
    const tag = zip(streamable({ data: sheetXml(`<row r="1" x="${'a'.repeat(70_000)}"/>`) }));
    expect((await failure(read(tag))).code).toBe('corrupt_file');
  });
});

describe('CSV: a long field is refused while it is read', () => {
  it('refuses a field far over the cap after (columns + 2) × cap characters, not the whole field', async () => {
    const huge = `email,name\na@example.com,"${'x'.repeat(5_000_000)}"\n`;
    const error = await failure(read(Buffer.from(huge)));
    expect(error.code).toBe('field_too_long');
    expect(error.message).toMatch(/line 2 is too long: a cell is longer than 10000 characters/);
  });
});
