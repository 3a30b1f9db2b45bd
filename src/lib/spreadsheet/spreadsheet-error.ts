export type SpreadsheetErrorCode =
  | 'unsupported_format'
  | 'corrupt_file'
  | 'empty_file'
  | 'too_large'
  | 'too_many_rows'
  | 'too_many_columns'
  | 'field_too_long'
  | 'invalid_mapping';

/**
 * A file the importer refuses. The message is shown to the user as is (the import's `error_message`), so it never
 * carries a stack, a path or a library's internal wording.
 */
export class SpreadsheetError extends Error {
  override readonly name = 'SpreadsheetError';

  constructor(
    readonly code: SpreadsheetErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const isSpreadsheetError = (error: unknown): error is SpreadsheetError => error instanceof SpreadsheetError;
