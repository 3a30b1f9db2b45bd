import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';

/** What a reader of one part wants from its XML; element names come without their namespace prefix. */
export type XmlHandlers = {
  open?(name: string, attributes: Record<string, string>): void;
  close?(name: string): void;
  /** Character data, entities decoded (CDATA sections too). */
  text?(text: string): void;
};

/** `x:row` → `row`: some writers prefix SpreadsheetML elements, Excel reads them all the same. */
export const localName = (name: string) => {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
};

/** An attribute by its local name (`r:id` whatever the prefix is bound to). */
export function prefixedAttribute(attributes: Record<string, string>, local: string): string | undefined {
  for (const name in attributes) if (localName(name) === local && name.includes(':')) return attributes[name];
  return undefined;
}

/**
 * A saxes parser fed with bytes, chunk by chunk (a character split between chunks is kept for the next). Malformed
 * XML throws from `write` or `end`, where the part's reader turns it into a SpreadsheetError.
 */
export function xmlParser(handlers: XmlHandlers) {
  // No line/column tracking: our messages never quote positions, and tracking them costs time on every character.
  const parser = new SaxesParser({ position: false });
  const { open, close, text } = handlers;
  if (open) parser.on('opentag', (tag) => open(localName(tag.name), tag.attributes as Record<string, string>));
  if (close) parser.on('closetag', (tag) => close(localName(tag.name)));
  if (text) {
    parser.on('text', text);
    parser.on('cdata', text);
  }
  const decoder = new StringDecoder('utf8');
  return {
    write(chunk: Buffer) {
      const decoded = decoder.write(chunk);
      if (decoded.length > 0) parser.write(decoded);
    },
    end() {
      const rest = decoder.end();
      if (rest.length > 0) parser.write(rest);
      parser.close();
    },
  };
}

/** Parses a whole part as it streams. */
export async function parseXml(stream: AsyncIterable<Buffer>, handlers: XmlHandlers): Promise<void> {
  const parser = xmlParser(handlers);
  for await (const chunk of stream) parser.write(chunk);
  parser.end();
}
