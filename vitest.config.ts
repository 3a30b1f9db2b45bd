import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The scaled shape's multi-process fault tests have their own suite: npm run test:scaled (vitest.scaled.config.ts).
    exclude: ['test/scaled/**', '**/node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file builds its own app on its own database (copied from a migrated template), so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
