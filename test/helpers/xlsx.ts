/**
 * XLSX files for the tests and benchmarks, written part by part (no spreadsheet library): `xlsx` builds a workbook
 * from cell values as Excel lays it out, `zip` packs parts exactly as given (entry order, declared sizes, data
 * descriptors, trailing garbage) for the files Excel would never write.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { columnName } from '../../bench/hostile-files.ts';

export type ZipPart = { name: string; data: string | Uint8Array; store?: boolean; descriptor?: boolean };

/** A minimal zip writer, to control entry order, declared sizes and data descriptors. */
export function zip(parts: ZipPart[], trailing = Buffer.alloc(0)): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const data = Buffer.from(part.data);
    const body = part.store ? data : deflateRawSync(data);
    const name = Buffer.from(part.name);
    const crc = crc32(data);
    const flags = 0x800 | (part.descriptor ? 0x08 : 0);
    const sizes = (header: Buffer, at: number, hide: boolean) => {
      header.writeUInt32LE(hide ? 0 : crc, at);
      header.writeUInt32LE(hide ? 0 : body.length, at + 4);
      header.writeUInt32LE(hide ? 0 : data.length, at + 8);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(part.store ? 0 : 8, 8);
    local.writeUInt16LE(0x21, 12);
    sizes(local, 14, part.descriptor === true);
    local.writeUInt16LE(name.length, 26);
    const descriptor = Buffer.alloc(part.descriptor ? 16 : 0);
    if (part.descriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      sizes(descriptor, 4, false);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(part.store ? 0 : 8, 10);
    central.writeUInt16LE(0x21, 14);
    sizes(central, 16, false);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    const entry = Buffer.concat([local, name, body, descriptor]);
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
  return Buffer.concat([...locals, trailing, directory, end]);
}

/** A cell: strings are shared strings, Dates numbers in a date format (built-in 14 unless `numFmt` says). */
export type CellValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | { formula: string; result?: string | number | boolean | { error: string } }
  | { richText: string[] }
  | { inline: string }
  | { error: string }
  | { text: string; hyperlink: string };
export type CellSpec = CellValue | { value: CellValue; numFmt: string };

/** Rows from row 1 and column A, or cells by reference (`{ A2: 'email', C7: 'Bilbao' }`). */
export type SheetSpec = { name?: string; rows: CellSpec[][] } | { name?: string; cells: Record<string, CellSpec> };

export type WorkbookOptions = {
  /** `excel` (the default): sheets before styles and shared strings, as Excel writes them; `streamable`: after. */
  order?: 'excel' | 'streamable';
  date1904?: boolean;
  /** False: strings as inline strings (t="inlineStr"), no shared strings part. */
  sharedStrings?: boolean;
};

export const SPREADSHEET = 'application/vnd.openxmlformats-officedocument.spreadsheetml';
export const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
export const RELATIONSHIPS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PACKAGE_RELATIONSHIPS = 'http://schemas.openxmlformats.org/package/2006/relationships';

export const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const BUILT_IN_FORMATS: Record<string, number> = { General: 0, '0': 1, 'mm-dd-yy': 14, '@': 49 };

/** The workbook's shared strings and cell styles, gathered as cells are written. */
function catalog(shared: boolean) {
  const strings = new Map<string, number>();
  const sis: string[] = [];
  const formats = new Map<string, number>();
  const xfs = [0];
  return {
    shared,
    string(si: string) {
      let index = strings.get(si);
      if (index === undefined) {
        index = sis.length;
        strings.set(si, index);
        sis.push(si);
      }
      return index;
    },
    style(numFmt: string) {
      let id = BUILT_IN_FORMATS[numFmt] ?? formats.get(numFmt);
      if (id === undefined) {
        id = 164 + formats.size;
        formats.set(numFmt, id);
      }
      if (!xfs.includes(id)) xfs.push(id);
      return xfs.indexOf(id);
    },
    sharedStringsXml: () =>
      `<sst xmlns="${MAIN}" count="${sis.length}" uniqueCount="${sis.length}">${sis.join('')}</sst>`,
    stylesXml: () =>
      `<styleSheet xmlns="${MAIN}">` +
      (formats.size > 0
        ? `<numFmts count="${formats.size}">${[...formats]
            .map(([code, id]) => `<numFmt numFmtId="${id}" formatCode="${escapeXml(code).replace(/"/g, '&quot;')}"/>`)
            .join('')}</numFmts>`
        : '') +
      '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>' +
      '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>' +
      '<borders count="1"><border/></borders>' +
      '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
      `<cellXfs count="${xfs.length}">${xfs
        .map((id) => `<xf numFmtId="${id}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`)
        .join('')}</cellXfs>` +
      '</styleSheet>',
  };
}

type Catalog = ReturnType<typeof catalog>;

const serial = (date: Date, date1904: boolean) => date.getTime() / 86_400_000 + (date1904 ? 24107 : 25569);

function cellXml(ref: string, spec: CellSpec, book: Catalog, date1904: boolean, links: string[]): string {
  const formatted = spec !== null && typeof spec === 'object' && 'numFmt' in spec;
  const value = formatted ? spec.value : spec;
  const numFmt = formatted ? spec.numFmt : value instanceof Date ? 'mm-dd-yy' : undefined;
  const s = numFmt === undefined ? '' : ` s="${book.style(numFmt)}"`;
  const text = (raw: string) =>
    book.shared
      ? `<c r="${ref}"${s} t="s"><v>${book.string(`<si><t xml:space="preserve">${escapeXml(raw)}</t></si>`)}</v></c>`
      : `<c r="${ref}"${s} t="inlineStr"><is><t xml:space="preserve">${escapeXml(raw)}</t></is></c>`;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return text(value);
  if (typeof value === 'number') return `<c r="${ref}"${s}><v>${value}</v></c>`;
  if (typeof value === 'boolean') return `<c r="${ref}"${s} t="b"><v>${value ? 1 : 0}</v></c>`;
  if (value instanceof Date) return `<c r="${ref}"${s}><v>${serial(value, date1904)}</v></c>`;
  if ('formula' in value) {
    const { result } = value;
    const f = `<f>${escapeXml(value.formula)}</f>`;
    if (result === undefined) return `<c r="${ref}"${s}>${f}</c>`;
    if (typeof result === 'object') return `<c r="${ref}"${s} t="e">${f}<v>${escapeXml(result.error)}</v></c>`;
    if (typeof result === 'string') return `<c r="${ref}"${s} t="str">${f}<v>${escapeXml(result)}</v></c>`;
    if (typeof result === 'boolean') return `<c r="${ref}"${s} t="b">${f}<v>${result ? 1 : 0}</v></c>`;
    return `<c r="${ref}"${s}>${f}<v>${result}</v></c>`;
  }
  if ('richText' in value) {
    const runs = value.richText
      .map((run, i) => `<r>${i % 2 ? '<rPr><b/></rPr>' : ''}<t xml:space="preserve">${escapeXml(run)}</t></r>`)
      .join('');
    return `<c r="${ref}"${s} t="s"><v>${book.string(`<si>${runs}</si>`)}</v></c>`;
  }
  if ('inline' in value)
    return `<c r="${ref}"${s} t="inlineStr"><is><t xml:space="preserve">${escapeXml(value.inline)}</t></is></c>`;
  if ('error' in value) return `<c r="${ref}"${s} t="e"><v>${escapeXml(value.error)}</v></c>`;
  links.push(`<hyperlink ref="${ref}" r:id="rId${links.length + 1}"/>`);
  return text(value.text);
}

/** The rows of a sheet in order, each with its cells in column order. */
function rowsOf(sheet: SheetSpec): [number, [number, CellSpec][]][] {
  const rows = new Map<number, [number, CellSpec][]>();
  const put = (row: number, column: number, spec: CellSpec) => {
    if (!rows.has(row)) rows.set(row, []);
    rows.get(row)!.push([column, spec]);
  };
  if ('rows' in sheet)
    for (const [r, cells] of sheet.rows.entries()) for (const [c, spec] of cells.entries()) put(r + 1, c + 1, spec);
  else
    for (const [ref, spec] of Object.entries(sheet.cells)) {
      const [, letters, digits] = /^([A-Z]+)(\d+)$/.exec(ref)!;
      const column = [...letters!].reduce((n, letter) => n * 26 + letter.charCodeAt(0) - 64, 0);
      put(Number(digits), column, spec);
    }
  return [...rows]
    .sort(([a], [b]) => a - b)
    .map(([row, cells]) => [row, cells.sort(([a], [b]) => a - b)] as [number, [number, CellSpec][]]);
}

function sheetParts(sheet: SheetSpec, index: number, book: Catalog, date1904: boolean): ZipPart[] {
  const links: string[] = [];
  const data = rowsOf(sheet)
    .map(
      ([row, cells]) =>
        `<row r="${row}">${cells.map(([column, spec]) => cellXml(`${columnName(column)}${row}`, spec, book, date1904, links)).join('')}</row>`,
    )
    .join('');
  const parts: ZipPart[] = [
    {
      name: `xl/worksheets/sheet${index}.xml`,
      data:
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="${MAIN}" xmlns:r="${RELATIONSHIPS}">` +
        `<dimension ref="A1"/><sheetFormatPr defaultRowHeight="15"/><sheetData>${data}</sheetData>` +
        (links.length > 0 ? `<hyperlinks>${links.join('')}</hyperlinks>` : '') +
        '</worksheet>',
    },
  ];
  if (links.length > 0)
    parts.push({
      name: `xl/worksheets/_rels/sheet${index}.xml.rels`,
      data: `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">${links
        .map(
          (_, i) =>
            `<Relationship Id="rId${i + 1}" Type="${RELATIONSHIPS}/hyperlink" Target="https://example.com/${i}" TargetMode="External"/>`,
        )
        .join('')}</Relationships>`,
    });
  return parts;
}

/** The parts of a workbook of `sheets` (the first is the first tab), in the order `options.order` says. */
export function workbookParts(sheets: SheetSpec[], options: WorkbookOptions = {}): ZipPart[] {
  const book = catalog(options.sharedStrings !== false);
  const date1904 = options.date1904 === true;
  const worksheets = sheets.flatMap((sheet, i) => sheetParts(sheet, i + 1, book, date1904));
  const overrides = [
    ['/xl/workbook.xml', 'sheet.main+xml'],
    ...sheets.map((_, i) => [`/xl/worksheets/sheet${i + 1}.xml`, 'worksheet+xml']),
    ['/xl/styles.xml', 'styles+xml'],
    ...(book.shared ? [['/xl/sharedStrings.xml', 'sharedStrings+xml']] : []),
  ];
  const head: ZipPart[] = [
    {
      name: '[Content_Types].xml',
      data:
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        overrides
          .map(([name, type]) => `<Override PartName="${name}" ContentType="${SPREADSHEET}.${type}"/>`)
          .join('') +
        '</Types>',
    },
    {
      name: '_rels/.rels',
      data: `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" Type="${RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    },
    {
      name: 'xl/workbook.xml',
      data:
        `<workbook xmlns="${MAIN}" xmlns:r="${RELATIONSHIPS}">${date1904 ? '<workbookPr date1904="1"/>' : '<workbookPr/>'}<sheets>` +
        sheets
          .map((sheet, i) => `<sheet name="${sheet.name ?? `Sheet${i + 1}`}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
          .join('') +
        '</sheets></workbook>',
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data:
        `<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">` +
        sheets
          .map(
            (_, i) =>
              `<Relationship Id="rId${i + 1}" Type="${RELATIONSHIPS}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
          )
          .join('') +
        `<Relationship Id="rId${sheets.length + 1}" Type="${RELATIONSHIPS}/styles" Target="styles.xml"/>` +
        (book.shared
          ? `<Relationship Id="rId${sheets.length + 2}" Type="${RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>`
          : '') +
        '</Relationships>',
    },
  ];
  // Written after the sheets: only then are all strings and styles known.
  const tail: ZipPart[] = [
    { name: 'xl/styles.xml', data: book.stylesXml() },
    ...(book.shared ? [{ name: 'xl/sharedStrings.xml', data: book.sharedStringsXml() }] : []),
  ];
  return options.order === 'streamable' ? [...head, ...tail, ...worksheets] : [...head, ...worksheets, ...tail];
}

/** An XLSX of `sheets`, zipped with fflate (sizes in the local headers, as Excel writes them). */
export function xlsx(sheets: SheetSpec[], options: WorkbookOptions = {}): Buffer {
  const files: Record<string, Uint8Array> = {};
  for (const part of workbookParts(sheets, options)) files[part.name] = Buffer.from(part.data);
  return Buffer.from(zipSync(files, { level: 6 }));
}
