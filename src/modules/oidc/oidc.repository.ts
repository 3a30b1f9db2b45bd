import { isUniqueViolation } from '../../db/faults.ts';

/**
 * Two first sign-ins of one identity raced to create the same user or link: a unique violation (users' email,
 * user_providers' subject). Drivers and Drizzle wrap the PostgreSQL error; its code may sit a few causes deep.
 */
export const lostSignInRace = (error: unknown): boolean => isUniqueViolation(error);
