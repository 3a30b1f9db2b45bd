import { createSharedStrings, type SharedStrings } from './shared-strings.ts';
import { SpreadsheetError } from './spreadsheet-error.ts';
import { isDateFormat, isDateFormatId } from './xlsx-cells.ts';
import { parseXml, prefixedAttribute } from './xml-events.ts';

/**
 * Readers of the workbook's small parts, each with saxes over the part's (metered, guarded) stream: what the first
 * sheet's cells need to be read, and nothing else.
 */
type Part = AsyncIterable<Buffer>;

const truthy = (value: string | undefined) => value === '1' || value === 'true';

/** [Content_Types].xml: the part names it lists (lower case: part names are case-insensitive). */
export async function readContentTypes(part: Part): Promise<Set<string>> {
  const names = new Set<string>();
  let spreadsheet = false;
  await parseXml(part, {
    open(name, attributes) {
      if (name !== 'Override' && name !== 'Default') return;
      if (attributes.ContentType?.includes('spreadsheetml')) spreadsheet = true;
      if (attributes.PartName) names.add(attributes.PartName.toLowerCase());
    },
  });
  if (!spreadsheet)
    throw new SpreadsheetError('unsupported_format', 'The file is a zip archive but not an Excel workbook (.xlsx).');
  return names;
}

export type WorkbookInfo = { sheetIds: string[]; date1904: boolean };

/** xl/workbook.xml: the sheets' relationship ids in tab order, and whether dates count from 1904. */
export async function readWorkbook(part: Part): Promise<WorkbookInfo> {
  const info: WorkbookInfo = { sheetIds: [], date1904: false };
  await parseXml(part, {
    open(name, attributes) {
      if (name === 'workbookPr') info.date1904 = truthy(attributes.date1904);
      else if (name === 'sheet') {
        const id = prefixedAttribute(attributes, 'id');
        if (id !== undefined) info.sheetIds.push(id);
      }
    },
  });
  return info;
}

export type Relationship = { type: string; target: string };

/** xl/_rels/workbook.xml.rels: where each relationship id points. */
export async function readRelationships(part: Part): Promise<Map<string, Relationship>> {
  const relationships = new Map<string, Relationship>();
  await parseXml(part, {
    open(name, attributes) {
      if (name === 'Relationship' && attributes.Id !== undefined)
        relationships.set(attributes.Id, { type: attributes.Type ?? '', target: attributes.Target ?? '' });
    },
  });
  return relationships;
}

/**
 * xl/styles.xml: which cell styles (`s`, an index into cellXfs) show numbers as dates: those whose number format is
 * a built-in date format or a custom one with date/time letters. Dates are numbers in a date style.
 */
export async function readDateStyles(part: Part): Promise<Uint8Array> {
  const formats = new Map<number, string>();
  const styleFormats: number[] = [];
  let inCellXfs = false;
  await parseXml(part, {
    open(name, attributes) {
      if (name === 'numFmt') formats.set(Number(attributes.numFmtId), attributes.formatCode ?? '');
      else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) styleFormats.push(Number(attributes.numFmtId ?? 0));
    },
    close(name) {
      if (name === 'cellXfs') inCellXfs = false;
    },
  });
  return Uint8Array.from(styleFormats, (id) => {
    const custom = formats.get(id);
    return (custom === undefined ? isDateFormatId(id) : isDateFormat(custom)) ? 1 : 0;
  });
}

/**
 * xl/sharedStrings.xml: each string's text, its `<t>` runs joined (rich text), phonetic readings (`<rPh>`) left
 * out; kept compactly (see shared-strings.ts). The guard in front caps each string while it streams.
 */
export async function readSharedStrings(part: Part): Promise<SharedStrings> {
  const strings = createSharedStrings();
  let text = '';
  let inString = false;
  let inText = false;
  let phonetic = 0;
  await parseXml(part, {
    open(name) {
      if (name === 'si') {
        inString = true;
        text = '';
      } else if (name === 't') inText = inString && phonetic === 0;
      else if (name === 'rPh') phonetic += 1;
    },
    close(name) {
      if (name === 't') inText = false;
      else if (name === 'rPh') phonetic -= 1;
      else if (name === 'si' && inString) {
        strings.add(text);
        inString = false;
        text = '';
      }
    },
    text(chunk) {
      if (inText) text += chunk;
    },
  });
  return strings;
}
