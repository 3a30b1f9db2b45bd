/**
 * Per-account login throttling (OWASP ASVS 2.2.1), across every source address: the per-IP limit alone let an
 * attacker spread guesses over many addresses. Failures are consecutive failed passwords since the last success.
 * - 1–4 failures: nothing;
 * - 5–9: a back-off of 1, 2, 4, 8, 16 seconds before the next attempt is even checked;
 * - 10 and more: a 15-minute lock, and the owner is mailed when it starts. Each failure after a lock ends starts a
 *   new one, so an hour holds at most 10 + 4 failures, well under ASVS's 100.
 * Attempts while locked are not counted and answer exactly like a wrong password.
 */
export const BACKOFF_AFTER = 5;
export const LOCK_AFTER = 10;
export const LOCK_MS = 15 * 60_000;

/** How long sign-in stays closed after this many consecutive failures (0: not at all). */
export function lockMsAfter(failures: number): number {
  if (failures >= LOCK_AFTER) return LOCK_MS;
  if (failures >= BACKOFF_AFTER) return 1000 * 2 ** (failures - BACKOFF_AFTER);
  return 0;
}
