/**
 * PostgreSQL text cannot hold U+0000: a NUL in a value fails the whole statement. Input is checked for it at the
 * edges (request bodies and queries, spreadsheet rows) so that it is refused with the field it is in.
 */
export const hasNul = (text: string): boolean => text.includes('\u0000');

/** The text with each NUL replaced by U+FFFD, for keeping a refused value where it can be shown (errors CSV). */
export const withoutNul = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

/**
 * Dotted paths (`answers.0.value`) of every string in `value`, keys included, that holds a NUL. Walks with its own
 * stack, not recursion: a deeply nested value cannot overflow the call stack (JSON bodies are also bounded in
 * depth and size before they are parsed, see lib/input-limits.ts).
 */
export function nulPaths(value: unknown): string[] {
  type Node = { value: unknown; key?: string; parent?: Node };
  const pathOf = (node: Node) => {
    const keys: string[] = [];
    for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) keys.push(at.key);
    return keys.reverse().join('.');
  };
  const found: string[] = [];
  const pending: Node[] = [{ value }];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (typeof node.value === 'string') {
      if (hasNul(node.value)) found.push(pathOf(node));
      continue;
    }
    if (node.value === null || typeof node.value !== 'object') continue;
    const entries = Object.entries(node.value);
    // Reversed onto the stack, so paths come out in document order.
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, item] = entries[index]!;
      // A key with a NUL is reported itself (as a string holding one would be), its value left unread.
      if (hasNul(key)) pending.push({ value: '\u0000', key: withoutNul(key), parent: node });
      else pending.push({ value: item, key, parent: node });
    }
  }
  return found;
}
