import { TextDecoder } from 'node:util';
import { toBuffer } from './source.ts';
import type { TextEncodingName } from './types.ts';

const BOMS: [number[], TextEncodingName, string][] = [
  [[0xef, 0xbb, 0xbf], 'utf-8-bom', 'utf-8'],
  [[0xff, 0xfe], 'utf-16le', 'utf-16le'],
  [[0xfe, 0xff], 'utf-16be', 'utf-16be'],
];
// Enough bytes after the first non-ASCII one to tell UTF-8 from Windows-1252 with confidence.
const DECISION_WINDOW = 1024;

// Windows-1252's bytes 0x80–0x9F (the rest is ISO-8859-1). Five are unassigned and stay C1 controls, as in WHATWG.
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

type Decoder = { decode(bytes: Uint8Array, options?: { stream?: boolean }): string };

/**
 * Node 20's `TextDecoder('windows-1252')` decodes as ISO-8859-1 (€, curly quotes and dashes come out as C1 control
 * characters), so Windows-1252 is decoded here. One byte per character: nothing to carry across chunks.
 */
const windows1252: Decoder = {
  decode: (bytes) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      .toString('latin1')
      .replace(/[\x80-\x9f]/g, (char) => CP1252_HIGH[char.charCodeAt(0) - 0x80]!),
};

function bomOf(head: Buffer) {
  return BOMS.find(([bytes]) => bytes.every((byte, i) => head[i] === byte));
}

function firstNonAscii(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return i;
  return -1;
}

/** True when `bytes` are valid UTF-8; with `final` false a sequence cut at the end still counts as valid. */
export function isUtf8(bytes: Uint8Array, final: boolean): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !final });
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes → text, detecting the encoding as it goes: a BOM decides UTF-8 (stripped) or UTF-16; otherwise the text is
 * ASCII until the first byte ≥ 0x80, and the bytes from there (up to 1 KB) decide UTF-8 when they are valid UTF-8,
 * else Windows-1252 (the superset of Latin-1 that Excel writes on Windows). Decoders run with `stream: true`, so a
 * character split across chunks is never broken. Invalid bytes later in a UTF-8 file become U+FFFD.
 */
export function createDetectingDecoder(onEncoding: (encoding: TextEncodingName) => void) {
  let head: Buffer | undefined = Buffer.alloc(0); // the first bytes, until there are enough to look for a BOM
  let pending: Buffer | undefined; // from the first non-ASCII byte until the encoding is decided
  let decoder: Decoder | undefined;
  const decide = (bytes: Buffer, final: boolean): Decoder => {
    const utf8 = isUtf8(bytes, final);
    onEncoding(utf8 ? 'utf-8' : 'windows-1252');
    return utf8 ? new TextDecoder('utf-8') : windows1252;
  };
  const write = (bytes: Buffer, final: boolean): string => {
    let chunk = bytes;
    if (head) {
      head = Buffer.concat([head, chunk]);
      if (head.length < 3 && !final) return '';
      [chunk, head] = [head, undefined];
      const bom = bomOf(chunk);
      if (bom) onEncoding(bom[1]);
      if (bom) decoder = new TextDecoder(bom[2]);
    }
    if (decoder) return decoder.decode(chunk, { stream: !final });
    let ascii = '';
    if (!pending) {
      const at = firstNonAscii(chunk);
      if (at === -1) return chunk.toString('latin1');
      ascii = chunk.toString('latin1', 0, at);
      chunk = chunk.subarray(at);
    }
    pending = pending ? Buffer.concat([pending, chunk]) : chunk;
    if (pending.length < DECISION_WINDOW && !final) return ascii;
    decoder = decide(pending, final);
    const text = decoder.decode(pending, { stream: !final });
    pending = undefined;
    return ascii + text;
  };
  return { write: (chunk: Buffer) => write(chunk, false), end: () => write(Buffer.alloc(0), true) };
}

export async function* decodeText(
  source: AsyncIterable<unknown>,
  onEncoding: (encoding: TextEncodingName) => void,
): AsyncGenerator<string> {
  const decoder = createDetectingDecoder(onEncoding);
  for await (const chunk of source) {
    const text = decoder.write(toBuffer(chunk));
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}
