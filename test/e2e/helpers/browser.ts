/**
 * Debian's Chromium (`/usr/bin/chromium`, apt package `chromium`) driven by playwright-core, for the admin center's
 * web pages. No browser is ever downloaded: a missing Chromium fails the test with the command that installs it. Each
 * browser gets a fresh profile (`--user-data-dir`) in a temporary folder, removed by `close()`, and the language the
 * test asks for (Accept-Language). Screenshots go to {@link SCREENSHOTS}, `test-output/admin-web/` (gitignored).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../../helpers';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Where the screenshots of a test run go (not committed: `test-output/` is in .gitignore). */
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'admin-web');

/** A browser with its own profile and one page. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Throws a clear error when Chromium is missing (these tests fail, not skip, without it). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it with 'apt-get install -y chromium' (or set CHROMIUM_BIN)`);
}

/**
 * Starts Chromium headless with a fresh profile.
 * @param locale the browser's language (its Accept-Language), e.g. `en-US`, `fr-FR`
 */
export async function openBrowser(locale: string): Promise<TestBrowser> {
  requireChromium();
  const profile = mkdtempSync(path.join(tmpdir(), 'va-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // The pages ask before an action that changes a PIN (window.confirm): the test says yes.
  page.on('dialog', (d) => void d.accept());
  return {
    context,
    page,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
