/**
 * A one-sheet XLSX written by hand (SpreadsheetML, zipped with fflate): only what the import template needs, the
 * smallest set of parts Excel, LibreOffice and Numbers open without repairing: a bold header row frozen at the top,
 * column widths, text-formatted columns, and cells that are inline strings or numbers (never formulas).
 */
export type XlsxColumn = {
  width: number;
  /** Formatted as text ('@'): what people type later (+34 …, 08001, =…) stays as typed. */
  text: boolean;
};

export type XlsxSheet = {
  name: string;
  columns: XlsxColumn[];
  /** The first row is the header (bold, frozen); strings are written as strings, numbers as numbers. */
  rows: (string | number)[][];
};

const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const RELATIONSHIPS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PACKAGE_RELATIONSHIPS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

/** Characters XML 1.0 can hold: a question title with a control character or a lone surrogate would make Excel refuse the file. */
const isXmlChar = (code: number) =>
  code === 0x9 ||
  code === 0xa ||
  code === 0xd ||
  (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) ||
  code >= 0x10000;

function xmlSafe(text: string): string {
  let safe = '';
  for (const char of text) if (isXmlChar(char.codePointAt(0)!)) safe += char;
  return safe;
}

const xmlText = (text: string) =>
  xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1 → A, 27 → AA. */
function columnName(column: number): string {
  let name = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

// Cell styles (cellXfs): 0 General, 1 text, 2 bold text (the header). 49 is the built-in '@' format.
const GENERAL = 0;
const TEXT = 1;
const HEADER = 2;
const STYLES =
  `<styleSheet xmlns="${MAIN}">` +
  '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>' +
  '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>' +
  // Excel expects the first two fills to be these.
  '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
  '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' +
  '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/></cellXfs>' +
  '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
  '</styleSheet>';

function cell(ref: string, value: string | number, style: number): string {
  if (typeof value === 'number') return `<c r="${ref}" s="${style}"><v>${value}</v></c>`;
  if (value === '') return '';
  return `<c r="${ref}" s="${style}" t="inlineStr"><is><t xml:space="preserve">${xmlText(value)}</t></is></c>`;
}

function sheetXml({ columns, rows }: XlsxSheet): string {
  const cols = columns
    .map(
      (column, i) =>
        `<col min="${i + 1}" max="${i + 1}" width="${column.width}" style="${column.text ? TEXT : GENERAL}" customWidth="1"/>`,
    )
    .join('');
  const data = rows
    .map((cells, r) => {
      const xml = cells.map((value, c) =>
        cell(`${columnName(c + 1)}${r + 1}`, value, r === 0 ? HEADER : columns[c]?.text ? TEXT : GENERAL),
      );
      return `<row r="${r + 1}">${xml.join('')}</row>`;
    })
    .join('');
  return (
    `${DECLARATION}<worksheet xmlns="${MAIN}" xmlns:r="${RELATIONSHIPS}">` +
    '<sheetViews><sheetView workbookViewId="0">' +
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' +
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>' +
    `<sheetFormatPr defaultRowHeight="15"/><cols>${cols}</cols><sheetData>${data}</sheetData>` +
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
  );
}

export async function writeXlsx(sheet: XlsxSheet): Promise<Buffer> {
  // Loaded on first use: only the XLSX template needs it.
  const { strToU8, zipSync } = await import('fflate');
  const parts: Record<string, string> = {
    '[Content_Types].xml':
      `${DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      `<Override PartName="/xl/workbook.xml" ContentType="${TYPE}.sheet.main+xml"/>` +
      `<Override PartName="/xl/worksheets/sheet1.xml" ContentType="${TYPE}.worksheet+xml"/>` +
      `<Override PartName="/xl/styles.xml" ContentType="${TYPE}.styles+xml"/></Types>`,
    '_rels/.rels':
      `${DECLARATION}<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">` +
      `<Relationship Id="rId1" Type="${RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    'xl/workbook.xml':
      `${DECLARATION}<workbook xmlns="${MAIN}" xmlns:r="${RELATIONSHIPS}">` +
      '<bookViews><workbookView/></bookViews>' +
      `<sheets><sheet name="${xmlText(sheet.name)}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels':
      `${DECLARATION}<Relationships xmlns="${PACKAGE_RELATIONSHIPS}">` +
      `<Relationship Id="rId1" Type="${RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>` +
      `<Relationship Id="rId2" Type="${RELATIONSHIPS}/styles" Target="styles.xml"/></Relationships>`,
    // Styles before the sheet: our own reader then streams the sheet without spooling it.
    'xl/styles.xml': DECLARATION + STYLES,
    'xl/worksheets/sheet1.xml': sheetXml(sheet),
  };
  const files = Object.fromEntries(Object.entries(parts).map(([name, xml]) => [name, strToU8(xml)]));
  // A fixed date: the same template is the same bytes (fflate would stamp the current time).
  return Buffer.from(zipSync(files, { level: 6, mtime: new Date(Date.UTC(2024, 0, 1)) }));
}
