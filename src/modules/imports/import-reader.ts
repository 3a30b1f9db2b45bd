import type { Readable } from 'node:stream';
import type { Executor } from '../../db/client.ts';
import { mapHeaders, openSheet } from '../../lib/spreadsheet/index.ts';
import { loadAnswerRules } from '../leads/lead-answers.ts';
import { checkReferences } from '../leads/lead-references.ts';
import type { ImportSettings } from './import-batch.ts';
import { loadLookups } from './import-lookups.ts';
import { type ImportRow, listQuestionTitles } from './imports.repository.ts';

/**
 * Opens an import's file (format from the upload's sniffing) and everything its rows are checked against: the header
 * mapping, reference names, the questions' answer rules, the company's country and default stage. Loaded once per
 * run; a bad mapping or an unreadable file throws a SpreadsheetError (the import fails with its message).
 */
export async function openImport(db: Executor, row: ImportRow, input: Readable) {
  const sheet = await openSheet(input, { format: row.format });
  const questions = await listQuestionTitles(db, row.companyId);
  const mapping = mapHeaders(sheet.headers, { questions, mapping: row.mapping });
  const [lookups, rules, references] = await Promise.all([
    loadLookups(db, row.companyId, row.campaignId),
    loadAnswerRules(db, row.companyId, row.campaignId, 'all'),
    checkReferences(db, row.companyId, {}),
  ]);
  const settings: ImportSettings = {
    importId: row.id,
    companyId: row.companyId,
    actorUserId: row.createdByUserId,
    companyCountry: references.companyCountry,
    defaultStageId: references.defaultStageId,
    sourceId: row.sourceId,
    campaignId: row.campaignId,
    onDuplicate: row.onDuplicate,
    mapping,
    lookups,
    rules,
  };
  return { settings, sheet };
}
