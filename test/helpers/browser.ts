/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (no browser download).
 * Outside CI the browser tests are skipped with a reason when Chromium is not installed; under CI a missing
 * Chromium fails the run (dependency.ts), so a missing install step fails loudly instead of passing silently.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { skipUnlessAvailable } from './dependency.js';

/** The Chromium executable, or undefined when it is not installed. */
export const chromiumPath: string | undefined = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) =>
  existsSync(p),
);

/** `skip` option for a browser test: false when Chromium is installed; else the reason, and under CI a failure. */
export const skipWithoutChromium: string | false = skipUnlessAvailable(
  chromiumPath ? undefined : 'chromium is not installed (apt-get install chromium; bash .ci/run installs it)',
);

/** Flags for a headless run on a machine with no network beyond loopback. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
