import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it when missing); playwright-core never downloads a browser here. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (containers), and nothing that would reach the network on its own (updates, sync, QUIC). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const chromiumInstalled = (): boolean => fs.existsSync(CHROMIUM);

export type Browser = Readonly<{ context: BrowserContext; page: Page; close: () => Promise<void> }>;

/** A fresh profile (its own user-data-dir, deleted on close) and one page. */
export const launchBrowser = async (): Promise<Browser> => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
};

/** Where the browser specs save their screenshots (ignored by git; CI keeps the folder as an artifact). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
