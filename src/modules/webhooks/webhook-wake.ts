import type { Executor } from '../../db/client.ts';
import { wakeCompanyWebhooks } from './webhooks.repository.ts';

/**
 * Called by the events outbox in the transaction that appends a company's events: queues a delivery job for each
 * enabled webhook of the company that has none queued (nothing at all for a company without webhooks). One
 * statement, no lock: the caller holds the company's event counter, the last lock of any writer.
 */
export async function wakeWebhooks(tx: Executor, companyId: number): Promise<void> {
  await wakeCompanyWebhooks(tx, companyId);
}
