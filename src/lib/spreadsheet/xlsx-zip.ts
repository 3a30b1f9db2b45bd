import { type Duplex, type Readable, Transform } from 'node:stream';
import { SpreadsheetError } from './spreadsheet-error.ts';
import type { SheetLimits } from './types.ts';

export type ZipEntry = Readable & {
  path: string;
  vars: { flags: number; uncompressedSize: number };
  extra?: { uncompressedSize?: number };
};

/**
 * unzipper's streaming parser: entries come out as the zip goes in, each read (or drained) before the next. Loaded
 * on first use, like everything only XLSX needs: CSV-only work never pays for it.
 */
export async function openZip(): Promise<Duplex> {
  const { default: unzipper } = await import('unzipper');
  return unzipper.Parse({ forceStream: true });
}

/**
 * The zip's entries one at a time, in file order. It listens to 'data' rather than using the stream's async
 * iterator, because unzipper emits 'end' itself and entries still buffered would be lost.
 */
export async function* zipEntries(zip: Duplex): AsyncGenerator<ZipEntry> {
  const queue: ZipEntry[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  zip.on('data', (entry: ZipEntry) => {
    queue.push(entry);
    notify();
  });
  zip.on('end', () => {
    ended = true;
    notify();
  });
  zip.on('error', (error) => {
    failure ??= error;
    notify();
  });
  for (;;) {
    if (failure) throw failure;
    const entry = queue.shift();
    if (entry) yield entry;
    else if (ended) return;
    else await new Promise<void>((resolve) => (wake = resolve));
  }
}

const megabytes = (bytes: number) => `${Math.max(1, Math.round(bytes / 1024 / 1024))} MB`;

function partName(path: string): string {
  if (path === 'xl/sharedStrings.xml') return 'the shared strings';
  return /^xl\/worksheets\//.test(path) ? 'a worksheet' : 'a workbook part';
}

export function tooLarge(what: string, cap: number) {
  return new SpreadsheetError(
    'too_large',
    `The workbook is too large once unzipped (${what} over ${megabytes(cap)}). Save it as CSV or split it into smaller files.`,
  );
}

/** The size the local header declares, when it does (not for entries streamed with a data descriptor). */
function declaredSize(entry: ZipEntry): number | undefined {
  const size = entry.extra?.uncompressedSize ?? entry.vars.uncompressedSize;
  const streamed = (entry.vars.flags & 0x08) !== 0 && size === 0;
  return streamed || size === 0xffffffff ? undefined : size;
}

/**
 * Meters inflated bytes: a per-entry cap and the whole-workbook cap. An entry whose declared size is already over a
 * cap is refused before it is inflated; otherwise the count stops the stream the moment a cap is passed (declared
 * sizes can lie or be absent).
 */
export function createMeter(limits: Pick<SheetLimits, 'maxUncompressedBytes'>) {
  let total = 0;
  return (entry: ZipEntry, cap: number): Transform => {
    const what = partName(entry.path);
    const declared = declaredSize(entry);
    if (declared !== undefined && declared > cap) throw tooLarge(what, cap);
    if (declared !== undefined && total + declared > limits.maxUncompressedBytes)
      throw tooLarge('all parts', limits.maxUncompressedBytes);
    let size = 0;
    return new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        total += chunk.length;
        if (size > cap) callback(tooLarge(what, cap));
        else if (total > limits.maxUncompressedBytes) callback(tooLarge('all parts', limits.maxUncompressedBytes));
        else callback(null, chunk);
      },
    });
  };
}
