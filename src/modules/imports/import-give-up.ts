import type { Tx } from '../../db/client.ts';
import { type Job, LOST_ON_LAST_ATTEMPT } from '../../jobs/queue.ts';
import { announceImportEnd } from './import-events.ts';
import { endUnfinishedImport, importById } from './imports.repository.ts';

/**
 * The import kind's give-up hook: the queue gave the job up for good (no attempt left, or its worker lost on the
 * last one) and calls this in the transaction that marks the job failed. The import ends `failed` with the reason
 * and a finish time, or `canceled` when a cancel was waiting for the job's next batch; one that already ended keeps
 * its status. Without it the import said `processing` forever behind a failed job (issue 12).
 */
export async function importGivenUp(tx: Tx, job: Job, now: Date): Promise<void> {
  const id = Number((job.payload as { import_file_id?: unknown }).import_file_id);
  if (!Number.isInteger(id)) return;
  // Locked: a cancel, or a batch of a worker that lost its lease, waits for this decision.
  const row = await importById(tx, id, true);
  if (!row) return;
  if (row.cancelRequestedAt) {
    await endUnfinishedImport(tx, id, { status: 'canceled', finishedAt: now });
    return;
  }
  const cause =
    job.lastError === LOST_ON_LAST_ATTEMPT
      ? 'the worker running it stopped responding on its last attempt'
      : `its last attempt failed: ${job.lastError ?? 'unknown error'}`;
  const errorMessage =
    `The import was given up after ${job.attempts} attempts (${cause}). ` +
    'The rows written so far stay; upload the file again to import the rest.';
  const ended = await endUnfinishedImport(tx, id, {
    status: 'failed',
    finishedAt: now,
    errorMessage: errorMessage.slice(0, 2000),
  });
  if (ended) await announceImportEnd(tx, ended);
}
