import type { Executor } from '../../db/client.ts';
import type { ImportLookups } from './import-rows.ts';
import { lookupRows } from './imports.repository.ts';

/**
 * Names a spreadsheet may use for references, loaded once per import: stages by code or name, the company's live
 * sources and campaigns by name, each question's kind and its options by value or label (case-insensitive).
 */
export async function loadLookups(db: Executor, companyId: number, campaignId: number | null): Promise<ImportLookups> {
  const { stageRows, sourceRows, campaignRows, questionRows, optionRows } = await lookupRows(db, companyId);
  const stagesByName = new Map<string, number>();
  for (const stage of stageRows) {
    stagesByName.set(stage.code.toLowerCase(), stage.id);
    stagesByName.set(stage.name.toLowerCase(), stage.id);
  }
  // The campaign's own options replace the company's for its questions, as they do for leads of that campaign.
  const campaignSpecific = new Set(
    optionRows.filter((o) => campaignId !== null && o.campaignId === campaignId).map((o) => o.questionId),
  );
  const options = new Map<number, Map<string, string>>();
  for (const option of optionRows) {
    const applies = campaignSpecific.has(option.questionId)
      ? option.campaignId === campaignId
      : option.campaignId === null;
    if (!applies) continue;
    const byText = options.get(option.questionId) ?? new Map<string, string>();
    byText.set(option.value.toLowerCase(), option.value);
    byText.set(option.label.toLowerCase(), option.value);
    options.set(option.questionId, byText);
  }
  return {
    stages: stagesByName,
    sources: new Map(sourceRows.map((row) => [row.name.toLowerCase(), row.id])),
    campaigns: new Map(campaignRows.map((row) => [row.name.toLowerCase(), row.id])),
    options,
    kinds: new Map(questionRows.map((row) => [row.id, row.kind])),
  };
}
