/** A `%…%` ILIKE pattern matching `text` literally: the user's `%`, `_` and `\` are not wildcards. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
