// Headless Chromium for the lab page (the browser tests and `npm run bench:lab`): Debian's package,
// driven by playwright-core with its executable path (no browser download).

import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** The browser: Debian's Chromium, or the one NVLAB_CHROMIUM names. */
export const CHROMIUM = process.env.NVLAB_CHROMIUM ?? "/usr/bin/chromium";

/** No sandbox (root), and nothing that reaches out to a network this machine does not have. */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Why Chromium cannot run here, or null. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium, or NVLAB_CHROMIUM=path)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
