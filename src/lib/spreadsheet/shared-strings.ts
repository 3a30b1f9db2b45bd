/**
 * The workbook's shared strings, held compactly while its sheet is read: their UTF-8 bytes in pages of 1 MB and
 * where each ends in pages of 64k offsets, about 1 byte per character plus 4 per string. As JavaScript strings in an
 * array (what a parser's cache holds) they took ~32 bytes each on top of the text, and rich text several objects more: a
 * 32 MB part of tiny strings would have been hundreds of MB.
 */
const PAGE_BYTES = 1024 * 1024;
const OFFSETS_PER_PAGE = 64 * 1024;

export type SharedStrings = {
  readonly count: number;
  add(text: string): void;
  /** Length in UTF-8 bytes (≥ its length in characters), without decoding it. */
  byteLength(index: number): number;
  get(index: number): string;
};

export function createSharedStrings(): SharedStrings {
  const pages: Buffer[] = [];
  const ends: Uint32Array[] = [];
  let size = 0; // bytes written in all pages
  let count = 0;

  const endOf = (index: number) => ends[Math.floor(index / OFFSETS_PER_PAGE)]![index % OFFSETS_PER_PAGE]!;
  const startOf = (index: number) => (index === 0 ? 0 : endOf(index - 1));

  function write(bytes: Buffer) {
    let at = 0;
    while (at < bytes.length) {
      const page = Math.floor(size / PAGE_BYTES);
      pages[page] ??= Buffer.allocUnsafe(PAGE_BYTES);
      const offset = size % PAGE_BYTES;
      const copied = bytes.copy(pages[page]!, offset, at, Math.min(bytes.length, at + PAGE_BYTES - offset));
      at += copied;
      size += copied;
    }
  }

  return {
    get count() {
      return count;
    },
    add(text: string) {
      if (text.length > 0) write(Buffer.from(text, 'utf8'));
      const page = Math.floor(count / OFFSETS_PER_PAGE);
      ends[page] ??= new Uint32Array(OFFSETS_PER_PAGE);
      ends[page]![count % OFFSETS_PER_PAGE] = size;
      count += 1;
    },
    byteLength(index: number) {
      return endOf(index) - startOf(index);
    },
    get(index: number) {
      const start = startOf(index);
      const end = endOf(index);
      const first = Math.floor(start / PAGE_BYTES);
      const last = Math.floor((end - 1) / PAGE_BYTES);
      if (end <= start) return '';
      if (first === last) return pages[first]!.toString('utf8', start % PAGE_BYTES, ((end - 1) % PAGE_BYTES) + 1);
      // A string that spans pages is joined as bytes first: a character may be split between them.
      const parts: Buffer[] = [];
      for (let page = first; page <= last; page++) {
        const from = page === first ? start % PAGE_BYTES : 0;
        const to = page === last ? ((end - 1) % PAGE_BYTES) + 1 : PAGE_BYTES;
        parts.push(pages[page]!.subarray(from, to));
      }
      return Buffer.concat(parts).toString('utf8');
    },
  };
}
