/**
 * What is kept of a rejected row: enough to find and fix it, never the whole of a hostile file. Before, every value
 * was kept as is: 5,000 bad rows of a 383 KB upload took 60 MB of the database.
 */
export const EXCERPT_COLUMNS = 20;
export const EXCERPT_VALUE_CHARS = 200;
export const EXCERPT_ROW_BYTES = 4096;
export const REASON_CHARS = 500;
/** Rejected rows kept per import; the counts stay exact and the errors CSV says how many more there were. */
export const IMPORT_MAX_STORED_ERRORS = 10_000;

const CUT = '…';

/** `text` cut to `chars` characters (a surrogate pair is never split), with "…" where it was cut. */
export function cut(text: string, chars: number): string {
  if (text.length <= chars) return text;
  let end = chars - 1;
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end -= 1;
  return text.slice(0, end) + CUT;
}

/**
 * The first EXCERPT_COLUMNS columns, each value cut to EXCERPT_VALUE_CHARS, the whole at most EXCERPT_ROW_BYTES of
 * UTF-8 (names included); a value cut shows "…", and a row with more columns gets a last `…` key saying how many.
 */
export function excerpt(values: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  const entries = Object.entries(values);
  let budget = EXCERPT_ROW_BYTES - 64; // room for the `…` entry
  let count = 0;
  for (const [name, value] of entries) {
    if (count === EXCERPT_COLUMNS) break;
    const key = cut(name, EXCERPT_VALUE_CHARS);
    let text = cut(value, EXCERPT_VALUE_CHARS);
    const size = Buffer.byteLength(key) + Buffer.byteLength(text);
    if (size > budget) {
      // Multi-byte text: cut further until it fits (4 bytes a character at most).
      const room = Math.floor((budget - Buffer.byteLength(key)) / 4);
      if (room < 2) break;
      text = cut(text, room);
    }
    kept[key] = text;
    budget -= Buffer.byteLength(key) + Buffer.byteLength(text);
    count += 1;
  }
  if (count < entries.length) kept[CUT] = `${entries.length - count} more columns not kept`;
  return kept;
}

/** Bytes a kept row takes toward the company's storage quota: its values, its reason and a row's overhead. */
export const storedSize = (row: { reason: string; values: Record<string, string> }) =>
  64 + Buffer.byteLength(row.reason) + Buffer.byteLength(JSON.stringify(row.values));
