import { expect } from 'vitest';
import { call, type TestContext } from './app.ts';
import type { TestUser } from './factories.ts';

/** Polls `check` until it holds or `ms` have passed; then fails with `what`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 1_000, what = 'the condition') {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Requests that show what the authorization cache of a test app answers, and how soon it sees a change. */
export function cacheProbes(context: () => TestContext) {
  const status = async (token: string, url: string) => (await call(context().app, 'GET', url, { token })).statusCode;
  const hits = () => context().app.authzCache.stats().hits;

  /** Asks twice: the second answer must come from the cache, so the test after it is about a warm cache. */
  async function warm(user: TestUser, url: string, expected = 200) {
    expect(await status(user.token, url)).toBe(expected);
    const before = hits();
    expect(await status(user.token, url)).toBe(expected);
    expect(hits()).toBeGreaterThan(before);
  }

  /** The answer to `url` becomes `expected` within a second. */
  async function becomes(user: TestUser, url: string, expected: number) {
    let last = 0;
    await until(
      async () => {
        last = await status(user.token, url);
        return last === expected;
      },
      1_000,
      `${url} answering ${expected} (last: ${last})`,
    );
  }

  return { status, hits, warm, becomes };
}
