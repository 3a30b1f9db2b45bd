import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  detectDelimiter,
  detectFormat,
  type OpenSheetOptions,
  openSheet,
  readRows,
  type SheetRow,
  SpreadsheetError,
} from '../../src/lib/spreadsheet/index.ts';

/** Feeds `data` in chunks of `chunkSize` bytes (1 = byte by byte, to split every multi-byte character). */
function streamOf(data: Buffer | string, chunkSize = 64 * 1024): Readable {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

async function read(data: Buffer | string, options: OpenSheetOptions & { chunkSize?: number } = {}) {
  const { chunkSize, ...rest } = options;
  const sheet = await openSheet(streamOf(data, chunkSize), rest);
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
  return error as SpreadsheetError;
}

const win1252 = (text: string) => Buffer.from(text, 'latin1');

describe('CSV delimiters', () => {
  it.each([
    ['comma', ','],
    ['semicolon', ';'],
    ['tab', '\t'],
  ])('detects %s', async (_name, delimiter) => {
    const lines = [
      ['email', 'name', 'note'],
      ['a@x.io', 'Ana', '"1,5; 2\t3"'],
      ['b@x.io', 'Bea', ''],
    ];
    const sheet = await read(lines.map((cells) => cells.join(delimiter)).join('\n'));
    expect(sheet.detected.delimiter).toBe(delimiter);
    expect(sheet.headers).toEqual(['email', 'name', 'note']);
    expect(sheet.values).toEqual([
      { email: 'a@x.io', name: 'Ana', note: '1,5; 2\t3' },
      { email: 'b@x.io', name: 'Bea', note: '' },
    ]);
  });

  it('counts delimiters outside quotes only', () => {
    expect(detectDelimiter('name;city\n"García, Ana";"Madrid, ES"\n"Peña, José";Sevilla\n')).toBe(';');
    expect(detectDelimiter('"a;b;c",d\n"e;f;g",h\n')).toBe(',');
    expect(detectDelimiter('only_one_column\nvalue\n')).toBe(',');
  });

  it('prefers the delimiter that is consistent across lines', () => {
    // The header has one comma (inside a name) but every line has two semicolons.
    expect(detectDelimiter('name, full;email;phone\nAna;a@x.io;1\nLuis;l@x.io;2\n')).toBe(';');
  });

  it("honours Excel's sep= first line", async () => {
    const sheet = await read('sep=;\r\nemail;city\r\na@x.io;Madrid\r\n');
    expect(sheet.detected.delimiter).toBe(';');
    expect(sheet.headers).toEqual(['email', 'city']);
    expect(sheet.rows[0]).toMatchObject({ rowNumber: 1, line: 3 });
  });
});

describe('CSV encodings', () => {
  const text = 'nombre;apellidos;ciudad\r\nJosé;Núñez Peña;Logroño\r\n';
  const expected = { nombre: 'José', apellidos: 'Núñez Peña', ciudad: 'Logroño' };

  it('reads UTF-8 without a BOM', async () => {
    const sheet = await read(text);
    expect(sheet.detected.encoding).toBe('utf-8');
    expect(sheet.values).toEqual([expected]);
  });

  it('reads UTF-8 with a BOM and strips it from the first header', async () => {
    const sheet = await read(`\ufeff${text}`);
    expect(sheet.detected.encoding).toBe('utf-8-bom');
    expect(sheet.headers[0]).toBe('nombre');
    expect(sheet.values).toEqual([expected]);
  });

  it('reads Windows-1252 / Latin-1 (bytes that are not UTF-8)', async () => {
    const sheet = await read(win1252(text));
    expect(sheet.detected.encoding).toBe('windows-1252');
    expect(sheet.values).toEqual([expected]);
  });

  it('reads Windows-1252 characters beyond Latin-1 (€, curly quotes)', async () => {
    const sheet = await read(Buffer.concat([win1252('note\n'), Buffer.from([0x80, 0x20, 0x93, 0x68, 0x69, 0x94])]));
    expect(sheet.values).toEqual([{ note: '€ “hi”' }]);
  });

  it('decides Windows-1252 even when the first accent is far into the file', async () => {
    const filler = Array.from({ length: 5000 }, (_, i) => `Name${i};City`).join('\n');
    const sheet = await read(win1252(`name;city\n${filler}\nPeña;Logroño\n`), { chunkSize: 4096 });
    expect(sheet.detected.encoding).toBe('windows-1252');
    expect(sheet.values.at(-1)).toEqual({ name: 'Peña', city: 'Logroño' });
  });

  it('reads UTF-16 with a BOM (Excel "Unicode text")', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name\tcity\r\nJosé\tLogroño\r\n', 'utf16le')]);
    const sheet = await read(utf16, { chunkSize: 3 });
    expect(sheet.detected).toEqual({ encoding: 'utf-16le', delimiter: '\t' });
    expect(sheet.values).toEqual([{ name: 'José', city: 'Logroño' }]);
  });

  it.each([1, 2, 3, 7])('never splits a multi-byte character across %i-byte chunks', async (chunkSize) => {
    const sheet = await read(`\ufeffname,emoji\nJosé Núñez,😀\nPeña,€\n`, { chunkSize });
    expect(sheet.values).toEqual([
      { name: 'José Núñez', emoji: '😀' },
      { name: 'Peña', emoji: '€' },
    ]);
  });

  it('reads Windows-1252 byte by byte', async () => {
    const sheet = await read(win1252('name,city\nJosé Núñez,Peñíscola\n'), { chunkSize: 1 });
    expect(sheet.values).toEqual([{ name: 'José Núñez', city: 'Peñíscola' }]);
  });
});

describe('CSV structure', () => {
  it('keeps delimiters, quotes and line breaks inside quoted fields', async () => {
    const sheet = await read('name,notes,city\r\n"García, Ana","said ""hi""\r\nthen left",Madrid\r\nLuis,,Bilbao\r\n');
    expect(sheet.values).toEqual([
      { name: 'García, Ana', notes: 'said "hi"\r\nthen left', city: 'Madrid' },
      { name: 'Luis', notes: '', city: 'Bilbao' },
    ]);
    expect(sheet.rows.map((row) => row.line)).toEqual([2, 4]);
  });

  it('skips blank lines and rows of empty cells without numbering them', async () => {
    const sheet = await read('\n\nemail,name\n\na@x.io,Ana\n,\n   \n;\nb@x.io,Bea\n\n');
    expect(sheet.headers).toEqual(['email', 'name']);
    // Line 8 holds a lone ';', a value in a comma-separated file.
    expect(sheet.rows.map(({ rowNumber, line }) => ({ rowNumber, line }))).toEqual([
      { rowNumber: 1, line: 5 },
      { rowNumber: 2, line: 8 },
      { rowNumber: 3, line: 9 },
    ]);
    expect(sheet.values.map((values) => values.email)).toEqual(['a@x.io', ';', 'b@x.io']);
  });

  it('accepts mixed line endings, trims cells and headers, fills missing cells', async () => {
    const sheet = await read(' Email , Name \r\n a@x.io , Ana \nb@x.io\r');
    expect(sheet.headers).toEqual(['Email', 'Name']);
    expect(sheet.values).toEqual([
      { Email: 'a@x.io', Name: 'Ana' },
      { Email: 'b@x.io', Name: '' },
    ]);
  });

  it('reports non-empty cells beyond the header as extra, ignores empty trailing ones', async () => {
    const sheet = await read('a,b\n1,2,3, x \n4,5,,\n');
    expect(sheet.rows[0]?.extra).toEqual(['3', 'x']);
    expect(sheet.rows[1]?.extra).toBeUndefined();
  });

  it('names empty and repeated headers, drops empty trailing ones', async () => {
    const sheet = await read('Email,,email,Phone,,\n1,2,3,4,,\n');
    expect(sheet.headers).toEqual(['Email', 'column_2', 'email (2)', 'Phone']);
    expect(sheet.values[0]).toEqual({ Email: '1', column_2: '2', 'email (2)': '3', Phone: '4' });
  });

  it('keeps a stray quote inside an unquoted field', async () => {
    const sheet = await read('name,size\nTV 5" screen,big\n');
    expect(sheet.values).toEqual([{ name: 'TV 5" screen', size: 'big' }]);
  });

  it('reads back cells neutralized with a leading quote', async () => {
    const sheet = await read("phone,formula,plain\n'+34 600 000 000,'=1+1,'quoted\n");
    expect(sheet.values).toEqual([{ phone: '+34 600 000 000', formula: '=1+1', plain: "'quoted" }]);
  });

  it('reads files of one or two bytes', async () => {
    expect((await read('a')).headers).toEqual(['a']);
    const latin = await read(Buffer.from([0xe9]));
    expect([latin.headers, latin.detected.encoding]).toEqual([['é'], 'windows-1252']);
    expect((await read(Buffer.from('é'))).headers).toEqual(['é']);
  });

  it('reads a header-only file as zero rows', async () => {
    const sheet = await read('email,name\r\n');
    expect(sheet.headers).toEqual(['email', 'name']);
    expect(sheet.rows).toEqual([]);
  });

  it('reads rows without the header list through readRows', async () => {
    const rows: SheetRow[] = [];
    for await (const row of readRows(streamOf('email\na@x.io\nb@x.io\n'), 'csv')) rows.push(row);
    expect(rows.map((row) => row.values.email)).toEqual(['a@x.io', 'b@x.io']);
  });
});

describe('CSV failures and caps', () => {
  it('refuses an empty file and a file of blank lines', async () => {
    expect((await failure(read(''))).code).toBe('empty_file');
    expect((await failure(read('\n\r\n ,, \n'))).code).toBe('empty_file');
  });

  it('refuses more data rows than the cap, with a readable message', async () => {
    const error = await failure(read('email\na\nb\nc\n', { maxRows: 2 }));
    expect(error.code).toBe('too_many_rows');
    expect(error.message).toBe('The file has more than 2 rows; split it into smaller files.');
    expect((await read('email\na\nb\n\n', { maxRows: 2 })).rows).toHaveLength(2);
  });

  it('refuses a long cell, a long record and too many headers', async () => {
    expect((await failure(read(`a,b\nok,${'x'.repeat(101)}\n`, { maxFieldLength: 100 }))).message).toMatch(
      /^Row 1 \(line 2\), column "b": a cell is longer than 100 characters\.$/,
    );
    // A quote that is never closed swallows the rest of the file until the record cap stops it.
    const runaway = `a,b\n"open,${'x,'.repeat(5000)}\n`;
    const error = await failure(read(runaway, { maxRecordLength: 1000 }));
    expect(error.code).toBe('field_too_long');
    expect(error.message).toContain('never closed');
    const wide = Array.from({ length: 6 }, (_, i) => `c${i}`).join(',');
    expect((await failure(read(`${wide}\n1\n`, { maxHeaders: 5 }))).code).toBe('too_many_columns');
  });

  it('refuses a quote left open at the end of the file', async () => {
    const error = await failure(read('a,b\n1,"never closed\n2,3\n'));
    expect(error.code).toBe('corrupt_file');
    expect(error.message).not.toMatch(/at .*\.js|node_modules|\/work/);
  });

  it('refuses content that is neither CSV nor XLSX', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    expect((await failure(read(png))).code).toBe('unsupported_format');
  });

  it('passes the input stream’s own failure through unchanged (it may be transient)', async () => {
    const broken = new Readable({
      read() {
        this.push('email\na@x.io\n');
        this.destroy(new Error('storage went away'));
      },
    });
    const sheet = await openSheet(broken).catch((error: Error) => error);
    const error =
      sheet instanceof Error
        ? sheet
        : await (async () => {
            for await (const _row of sheet.rows);
          })().catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SpreadsheetError);
    expect((error as Error).message).toBe('storage went away');
  });

  it('releases the input when the reader stops early', async () => {
    const input = streamOf('email\na\nb\nc\n', 2);
    const sheet = await openSheet(input);
    for await (const _row of sheet.rows) break;
    expect(input.destroyed).toBe(true);
  });
});

describe('detectFormat', () => {
  it('recognises text as CSV in any supported encoding', () => {
    expect(detectFormat(Buffer.from('email,name\na@x.io,Ana\n'))).toBe('csv');
    expect(detectFormat(Buffer.from('\ufeffemail;nombre\n'))).toBe('csv');
    expect(detectFormat(win1252('nombre\nPeña\n'))).toBe('csv');
    expect(detectFormat(Buffer.from([0xff, 0xfe, 0x61, 0x00]))).toBe('csv');
  });

  it('recognises an XLSX by its content, whatever its name', () => {
    const zip = Buffer.concat([
      Buffer.from('PK\x03\x04', 'latin1'),
      Buffer.alloc(26),
      Buffer.from('[Content_Types].xml'),
    ]);
    expect(detectFormat(zip)).toBe('xlsx');
  });

  it('refuses binary files, other zips and empty input', () => {
    expect(detectFormat(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))).toBeUndefined();
    expect(detectFormat(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'))).toBeUndefined();
    expect(detectFormat(Buffer.from('d0cf11e0a1b11ae1', 'hex'))).toBeUndefined();
    expect(detectFormat(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('word/document.xml')]))).toBe(
      undefined,
    );
    expect(detectFormat(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0x41]))).toBeUndefined();
    expect(detectFormat(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('streaming', () => {
  it('reads a 200k-row CSV with bounded memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const rows = 200_000;
    const line = (i: number) =>
      `Name${i},Surname${i},user${i}@example.com,+34 600 ${String(i).padStart(6, '0')},ES,Madrid,${'note '.repeat(10)}\n`;
    const fileSize = Array.from({ length: 100 }, (_, i) => line(i).length).reduce((a, b) => a + b) * (rows / 100);
    function* generate() {
      yield 'first_name,last_name,email,phone,country,city,notes\n';
      for (let i = 0; i < rows; i += 1000) yield Array.from({ length: 1000 }, (_, j) => line(i + j)).join('');
    }
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let count = 0;
    const sheet = await openSheet(Readable.from(generate()));
    for await (const row of sheet.rows) {
      if (++count % 20_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      expect(row.rowNumber).toBe(count);
    }
    expect(count).toBe(rows);
    expect(fileSize).toBeGreaterThan(20_000_000);
    // Holding the file would take at least its size (twice as UTF-16 strings); streaming stays far below.
    expect(peak - before).toBeLessThan(fileSize / 4);
  });
});
