import { defineConfig } from 'vitest/config';

/**
 * The reference at /docs in a real browser (`npm run test:browser`): Debian's Chromium, driven by playwright-core,
 * against the app listening on a real port. Its own suite, as it needs /usr/bin/chromium (`apt-get install chromium`).
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // One browser at a time is what two cores can carry.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
