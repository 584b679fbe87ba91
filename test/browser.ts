/**
 * Test support: a real headless Chromium (Debian's `chromium`) driven with
 * puppeteer-core, with a fresh profile, that records console errors and
 * page errors. Like the Erlang interop rule: when chromium is missing, tests
 * skip with a one-line reason, except with `CI=true`, where they run and fail.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where Debian installs chromium (`CHROMIUM` overrides). */
export const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

/** A `skip` value for node:test: a reason when chromium is missing (outside CI), else false. */
export function chromiumSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env['CI'] === 'true') return false; // must fail in CI
  return `${CHROMIUM} not found (apt-get install chromium to run the browser tests)`;
}

/** A launched browser, its page, and the console errors the page produced. */
export interface TestBrowser {
  readonly browser: Browser;
  readonly page: Page;
  /** Console messages of type error and uncaught page errors, in order. */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Launches headless chromium with a fresh profile and opens a page of `width`×`height`. */
export async function launchBrowser(width = 1280, height = 860): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'beamline-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--disable-dev-shm-usage'],
    protocolTimeout: 120_000,
  });
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  return {
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Writes a screenshot of `page` to build/observer-screenshots/`name`.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(process.cwd(), 'build', 'observer-screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
