/** Time as a dependency, so tests can move it (token and code expiry). */
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };
