// The lab page in Chromium for the browser tests: the page built and served as `nvlab lab` serves
// it, a browser, tabs that collect page errors and the UI thread's long tasks, and waits on the
// state the worker posts.

import type { Page } from "playwright-core";
import { CHROMIUM, chromiumMissing, type LabHarness } from "../../cli/lab_browser.ts";
import type { LabState } from "../../web/protocol.ts";

export { type LabHarness, startLab } from "../../cli/lab_browser.ts";

export const hasChromium = chromiumMissing() === null;
// CI installs it (.ci/run): missing there is a broken setup, not a reason to skip.
if (!hasChromium && process.env.CI === "true") throw new Error(`${CHROMIUM} not found and CI=true: the lab's browser tests must run in CI (.ci/run installs chromium)`);

/** A describe title that says why it was skipped. */
export function chromiumTitle(title: string): string {
  return hasChromium ? title : `${title} (SKIPPED: ${CHROMIUM} is not installed; apt-get install chromium)`;
}

/** A guest run in the page may take this long on a loaded 2-core machine. */
export const RUN_TIMEOUT = 180_000;

/** A fresh tab on the lab (at `hash`), with page errors collected and long tasks recorded in `window.longTasks`. */
export async function openLab(lab: LabHarness, hash = ""): Promise<{ page: Page; errors: string[] }> {
  const page = await lab.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) w.longTasks.push(e.duration);
    }).observe({ type: "longtask", buffered: false });
  });
  await page.goto(lab.server.url + hash);
  await page.waitForFunction(() => window.nvlab !== undefined);
  return { page, errors };
}

export async function state(page: Page): Promise<LabState | null> {
  return page.evaluate(() => window.nvlab!.state());
}

export async function waitStatus(page: Page, statuses: LabState["status"][], timeout = RUN_TIMEOUT): Promise<LabState> {
  await page.waitForFunction((want) => want.includes(window.nvlab!.state()?.status ?? "empty"), statuses, { timeout, polling: 100 });
  return (await state(page))!;
}
