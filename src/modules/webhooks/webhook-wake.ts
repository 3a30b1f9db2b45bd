import type { Executor } from '../../db/client.ts';

/**
 * Called by the events outbox in the transaction that appends a company's events: queues delivery work for the
 * company's enabled webhooks. (Owned by the webhooks module; a no-op until webhooks exist.)
 */
export async function wakeWebhooks(_tx: Executor, _companyId: number): Promise<void> {}
