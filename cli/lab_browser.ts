// Headless Chromium for the lab page (the browser tests and `npm run bench:lab`): Debian's package,
// driven by playwright-core with its executable path (no browser download).

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { buildLab } from "../web/build.ts";
import { type LabServer, serveLab } from "./lab.ts";

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

/** The page built into a temporary folder and served as `nvlab lab` serves it, and a browser. */
export interface LabHarness {
  browser: Browser;
  server: LabServer;
  close(): Promise<void>;
}

export async function startLab(): Promise<LabHarness> {
  const dist = mkdtempSync(join(tmpdir(), "nvlab-lab-"));
  let server: LabServer | null = null;
  let browser: Browser | null = null;
  const close = async (): Promise<void> => {
    await browser?.close();
    await server?.close();
    rmSync(dist, { recursive: true, force: true });
  };
  try {
    await buildLab({ outDir: dist });
    server = await serveLab({ port: 0, dir: dist });
    browser = await launchChromium();
    return { browser, server, close };
  } catch (e) {
    await close();
    throw e;
  }
}
