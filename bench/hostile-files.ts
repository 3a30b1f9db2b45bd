/**
 * The worst spreadsheets we can build under the upload limit, for the memory benchmark (imports-memory.ts) and the
 * tests. Parts are deflated as they are generated, so a 1 GiB sheet costs its builder a few MB.
 */
import { once } from 'node:events';
import { crc32, createDeflateRaw } from 'node:zlib';

type Piece = string | Buffer;
/** A zip entry whose content is produced piece by piece. */
export type StreamedPart = { name: string; content: () => Iterable<Piece> };

async function deflated(part: StreamedPart) {
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  let crc = 0;
  let size = 0;
  for (const piece of part.content()) {
    const bytes = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    crc = crc32(bytes, crc);
    size += bytes.length;
    if (!deflate.write(bytes)) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  return { body: Buffer.concat(out), crc, size };
}

/** A zip of the parts in order, every size declared in its local header (as Excel writes them). */
export async function zipOf(parts: StreamedPart[]): Promise<Buffer> {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const { body, crc, size } = await deflated(part);
    const name = Buffer.from(part.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    const entry = Buffer.concat([local, name, body]);
    locals.push(entry);
    centrals.push(Buffer.concat([central, name]));
    offset += entry.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const SPREADSHEET = 'application/vnd.openxmlformats-officedocument.spreadsheetml';
const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const once1 = (text: string) => () => [text];

/** 1 → A, 27 → AA, 16384 → XFD. */
export function columnName(column: number): string {
  let name = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

/** `count` characters of `unit` repeated, in pieces of about 1 MB. */
export function* repeated(unit: string, count: number): Generator<string> {
  const piece = unit.repeat(Math.max(1, Math.floor((1024 * 1024) / unit.length)));
  let left = count;
  while (left >= piece.length) {
    yield piece;
    left -= piece.length;
  }
  if (left > 0) yield piece.slice(0, left);
}

/** A workbook with one sheet (its rows as XML pieces) and, when given, shared strings (as XML pieces). */
export function workbookOf(sheetRows: () => Iterable<Piece>, sharedStrings?: () => Iterable<Piece>) {
  const parts: StreamedPart[] = [
    {
      name: '[Content_Types].xml',
      content: once1(
        `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
          `<Override PartName="/xl/workbook.xml" ContentType="${SPREADSHEET}.sheet.main+xml"/>` +
          `<Override PartName="/xl/worksheets/sheet1.xml" ContentType="${SPREADSHEET}.worksheet+xml"/>` +
          (sharedStrings
            ? `<Override PartName="/xl/sharedStrings.xml" ContentType="${SPREADSHEET}.sharedStrings+xml"/>`
            : '') +
          '</Types>',
      ),
    },
    {
      name: 'xl/workbook.xml',
      content: once1(
        `<workbook xmlns="${MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
          '<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      content: once1(
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" ' +
          'Target="worksheets/sheet1.xml"/></Relationships>',
      ),
    },
  ];
  if (sharedStrings)
    parts.push({
      name: 'xl/sharedStrings.xml',
      content: function* () {
        yield `<sst xmlns="${MAIN}">`;
        yield* sharedStrings();
        yield '</sst>';
      },
    });
  parts.push({
    name: 'xl/worksheets/sheet1.xml',
    content: function* () {
      yield `<worksheet xmlns="${MAIN}"><sheetData>`;
      yield* sheetRows();
      yield '</sheetData></worksheet>';
    },
  });
  return zipOf(parts);
}

const HEADER =
  '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>first_name</t></is></c></row>';

/** The reproduction: one inline-string cell of `chars` characters (200 MB: a 201 KB upload). */
export const hugeInlineCell = (chars: number) =>
  workbookOf(function* () {
    yield HEADER;
    yield '<row r="2"><c r="A2" t="inlineStr"><is><t>';
    yield* repeated('a', chars);
    yield '</t></is></c></row>';
  });

/** The same cell as a shared string. */
export const hugeSharedString = (chars: number) =>
  workbookOf(
    function* () {
      yield '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>';
    },
    function* () {
      yield '<si><t>email</t></si><si><t>';
      yield* repeated('a', chars);
      yield '</t></si>';
    },
  );

/** One cell's text split into many text nodes by comments, which the reader appends together. */
export const commentSplitCell = (chars: number) =>
  workbookOf(function* () {
    yield HEADER;
    yield '<row r="2"><c r="A2" t="str"><v>';
    yield* repeated(`${'a'.repeat(1000)}<!---->`, Math.floor(chars / 1000) * 1007);
    yield '</v></c></row>';
  });

/**
 * Shared strings filled to `bytes` with tiny distinct strings (what costs a cache most per byte), and a sheet of
 * `rows` rows of 4 cells naming them.
 */
export const manySharedStrings = (bytes: number, rows: number) =>
  workbookOf(
    function* () {
      yield '<row r="1"><c r="A1" t="s"><v>0</v></c></row>';
      const count = Math.floor(bytes / 24);
      let out = '';
      for (let r = 2; r <= rows + 1; r++) {
        out += `<row r="${r}">`;
        for (let c = 0; c < 4; c++) out += `<c r="${'ABCD'[c]}${r}" t="s"><v>${1 + ((r * 4 + c) % count)}</v></c>`;
        out += '</row>';
        if (out.length > 1 << 20) {
          yield out;
          out = '';
        }
      }
      yield out;
    },
    function* () {
      yield '<si><t>email</t></si>';
      let out = '';
      for (let i = 1, size = 0; size < bytes - 64; i++) {
        const si = `<si><t>${i.toString(36)}</t></si>`;
        out += si;
        size += si.length;
        if (out.length > 1 << 20) {
          yield out;
          out = '';
        }
      }
      yield out;
    },
  );

/**
 * Rows of 16,384 cells each naming the same long shared string: tiny to store, 164M characters a row once looked up.
 */
export const wideSharedRows = (rows: number, chars: number) =>
  workbookOf(
    function* () {
      yield '<row r="1"><c r="A1" t="s"><v>0</v></c></row>';
      for (let r = 2; r <= rows + 1; r++) {
        let row = `<row r="${r}">`;
        for (let c = 1; c <= 16_384; c++) row += `<c r="${columnName(c)}${r}" t="s"><v>1</v></c>`;
        yield `${row}</row>`;
      }
    },
    function* () {
      yield `<si><t>email</t></si><si><t>${'b'.repeat(chars)}</t></si>`;
    },
  );

/** Past the 1 GiB unzipped cap: rows of one small cell, `bytes` of them. */
export const rowsBomb = (bytes: number) =>
  workbookOf(function* () {
    yield HEADER;
    const row = '<row><c t="inlineStr"><is><t>x@example.com</t></is></c></row>';
    yield* repeated(row, bytes - (bytes % row.length));
  });
