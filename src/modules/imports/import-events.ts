import type { Executor } from '../../db/client.ts';
import { appendEvents } from '../outbox/outbox.repository.ts';
import { presentImport } from './imports.schemas.ts';

type ImportRow = Parameters<typeof presentImport>[0];

/**
 * `import.completed` or `import.failed`, with the import as its GET shows it, in the transaction that ends it (the
 * job's last write, or the queue's give-up). A canceled import announces nothing (no such event type). No lead and
 * no assignee: agents' streams never show imports.
 */
export async function announceImportEnd(tx: Executor, row: ImportRow): Promise<void> {
  if (row.status !== 'completed' && row.status !== 'failed') return;
  const type = row.status === 'completed' ? 'import.completed' : 'import.failed';
  await appendEvents(tx, row.companyId, [{ type, data: presentImport(row) }]);
}
