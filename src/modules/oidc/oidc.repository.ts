/**
 * Two first sign-ins of one identity raced to create the same user or link: a unique violation (users' email,
 * user_providers' subject). Drivers and Drizzle wrap the PostgreSQL error; its code may sit a few causes deep.
 */
export function lostSignInRace(error: unknown): boolean {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current.code === '23505') return true;
    current = current.cause as typeof current;
  }
  return false;
}
