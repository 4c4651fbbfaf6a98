import type { LaunchOptions } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core: never a browser downloaded by Playwright. */
export const CHROMIUM: LaunchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
