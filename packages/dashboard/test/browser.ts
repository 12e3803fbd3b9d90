/**
 * Real Chromium (Debian's package) driven by playwright-core. Where it is missing the browser tests skip
 * with the reason, except under CI=true, where a missing browser is a failure (.ci/run installs it).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCi } from '@tasq/testing';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TASQ_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Undefined when Chromium is there; else why the tests skip. Throws under CI. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
  if (isCi()) throw new Error(`${reason}; CI=true requires it`);
  return reason;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Screenshots of each page, kept as test artifacts in packages/dashboard/test-results/screenshots. */
export const screenshotFolder = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotFolder, { recursive: true });
  await page.screenshot({ path: `${screenshotFolder}${name}.png`, fullPage: true });
}
