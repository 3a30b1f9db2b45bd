import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestContext } from '../helpers/app.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';

const CHROMIUM = '/usr/bin/chromium';
// Playwright adds --headless and a new empty profile of its own; the rest keep Chromium off a closed network (its
// background services would fail to reach Google at every start, and log it).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A port free now: the app must know its own address (PUBLIC_URL, the document's server) before it listens. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let ctx: TestContext | undefined;
let browser: Browser | undefined;
let origin: string;
let user: TestUser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) to run the browser tests`,
    );
  }
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  // The document's server is PUBLIC_URL: "try it" calls go there, and the CSP lets the page reach its own origin only.
  ctx = await buildTestApp({ PUBLIC_URL: origin });
  await ctx.app.listen({ port, host: '127.0.0.1' });
  user = await createUser(ctx);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

/** Everything the page did wrong or reached for elsewhere: each must stay empty. */
function watch(page: Page) {
  const seen = { errors: [] as string[], foreign: [] as string[] };
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => seen.errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) =>
    seen.errors.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.origin !== origin) seen.foreign.push(request.url());
  });
  return seen;
}

describe('the reference at /docs in Chromium', () => {
  it('loads under the CSP from our own server, authorizes with a token, and a "try it" call answers 200', async () => {
    const page = await browser!.newPage();
    const seen = watch(page);
    // A violation is also a console error; this names the directive.
    // (Scripts as text: the browser's types are not in this program's.)
    await page.addInitScript({
      content: `window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (event) =>
          window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));`,
    });

    const loaded = await page.goto(`${origin}/docs/`);
    expect(loaded?.status()).toBe(200);
    // The page runs under the app's own policy, not a looser one of its own.
    expect(loaded?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect(page.title()).resolves.toBe('Leadsy API reference');
    await page.locator('#operations-tag-Users').waitFor();

    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input').fill(user.token);
    await dialog.locator('.auth-btn-wrapper button.authorize').click();
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).waitFor();
    await dialog.locator('.auth-btn-wrapper button', { hasText: 'Close' }).click();

    await page.locator('#operations-tag-Users').click();
    const operation = page.locator('#operations-Users-validateJwt');
    await operation.locator('.opblock-summary-control').click();
    // tryItOutEnabled: the operation opens ready to send.
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/api/v1/users/validate_jwt')),
      operation.locator('button.execute').click(),
    ]);
    expect(answer.status()).toBe(200);
    expect(answer.request().headers().authorization).toBe(`Bearer ${user.token}`);

    const shown = operation.locator('.live-responses-table .response');
    expect((await shown.locator('.response-col_status').textContent())?.trim()).toBe('200');
    await expect(shown.locator('.response-col_description pre').first().textContent()).resolves.toContain(user.email);

    // One assertion, so a failure shows all three.
    expect({ cspViolations: await page.evaluate('window.cspViolations'), ...seen }).toEqual({
      cspViolations: [],
      errors: [],
      foreign: [],
    });
    await page.close();
  });
});
