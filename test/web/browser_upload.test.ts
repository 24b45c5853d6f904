// Uploading an image in the lab page, in a real browser (Debian's Chromium driven by playwright-core,
// launched and served as test/web/browser.test.ts does): an ELF that `nvlab build` made of hello.S,
// uploaded as L2 #0 beside hyp.S, shows its read-only summary, boots and runs to the console
// `nvlab run` prints for the assembly pair, and again from its permalink; a raw image at a
// misaligned IPA fails in the message bar with the loader's words.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCommand } from "../../cli/build.ts";
import { serveLab, type LabServer } from "../../cli/lab.ts";
import { runCommand } from "../../cli/run.ts";
import { buildLab } from "../../web/build.ts";
import type { LabState } from "../../web/protocol.ts";

const CHROMIUM = process.env.NVLAB_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
// CI installs it (.ci/run): missing there is a broken setup, not a reason to skip.
if (!hasChromium && process.env.CI === "true") throw new Error(`${CHROMIUM} not found and CI=true: the lab's browser tests must run in CI (.ci/run installs chromium)`);
const title = hasChromium ? "uploading an image in the lab page in Chromium" : `uploading an image in the lab page in Chromium (SKIPPED: ${CHROMIUM} is not installed; apt-get install chromium)`;

/** A guest run in the page may take this long on a loaded 2-core machine. */
const RUN_TIMEOUT = 180_000;
/** What the browser is started with: no sandbox as root, and nothing that reaches out to the network. */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let server: LabServer;
let browser: Browser;
let dist: string;
let images: string;

async function openLab(hash = ""): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url + hash);
  await page.waitForFunction(() => window.nvlab !== undefined);
  return { page, errors };
}

async function state(page: Page): Promise<LabState | null> {
  return page.evaluate(() => window.nvlab!.state());
}

async function waitStatus(page: Page, statuses: LabState["status"][], timeout = RUN_TIMEOUT): Promise<LabState> {
  await page.waitForFunction((want) => want.includes(window.nvlab!.state()?.status ?? "empty"), statuses, { timeout, polling: 100 });
  return (await state(page))!;
}

/** Chooses L2 #`index` at `ipa` (or keeps the default) and uploads `file` into it. */
async function upload(page: Page, index: number, file: string, ipa?: string): Promise<void> {
  await page.selectOption("#upload-slot", { label: `as L2 #${index}` });
  if (ipa !== undefined) await page.fill("#upload-ipa", ipa);
  await page.setInputFiles("#upload-file", file);
}

describe.skipIf(!hasChromium)(title, () => {
  beforeAll(async () => {
    images = mkdtempSync(join(tmpdir(), "nvlab-upload-"));
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(images, "hello.elf"), fallback: "elf" });
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(images, "hello.bin"), fallback: "elf" });
    dist = mkdtempSync(join(tmpdir(), "nvlab-lab-"));
    await buildLab({ outDir: dist });
    server = await serveLab({ port: 0, dir: dist });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
    if (images) rmSync(images, { recursive: true, force: true });
  });

  it("an uploaded ELF of hello.S as L2 #0 runs to the assembly pair's console; a misaligned raw image is refused", async () => {
    const cli = await runCommand({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000 });
    const { page, errors } = await openLab();
    await upload(page, 0, join(images, "hello.elf"));
    // The setup is now hyp.S with the uploaded image: its tab shows a summary, not the bytes.
    const tab = page.locator('#file-tabs [data-path="guests/l2/hello.elf"]');
    await tab.waitFor();
    expect(await tab.getAttribute("class")).toContain("binary");
    const paths = await page.locator("#file-tabs .file-tab").evaluateAll((ts) => ts.map((t) => (t as HTMLElement).dataset.path!));
    expect(paths.slice(0, 2)).toEqual(["guests/l1/hyp.S", "guests/l2/hello.elf"]);
    expect(paths).not.toContain("guests/l2/hello.S");
    const summary = (await page.textContent("#editor .cm-content")) ?? "";
    expect(summary).toContain("hello.elf: uploaded ELF");
    expect(summary).toContain("machine AArch64");
    expect(await page.locator("#editor .cm-content").getAttribute("contenteditable")).toBe("false");
    expect(await page.inputValue("#guest-select")).toBe("pair:custom");

    await page.click("#boot");
    await waitStatus(page, ["ready"]);
    await page.click("#run");
    const end = await waitStatus(page, ["finished"]);
    expect(end.outcome).toBe("PSCI SYSTEM_OFF, exit code 0");
    await expect.poll(() => page.textContent("#console")).toBe(cli.console);
    expect(end.step).toBe(cli.steps);

    // A permalink carries the uploaded bytes: it opens on the same run elsewhere.
    await page.click("#permalink");
    await expect.poll(() => page.inputValue("#permalink-url")).toContain("#lab=");
    const url = await page.inputValue("#permalink-url");
    const { page: again, errors: againErrors } = await openLab(url.slice(url.indexOf("#")));
    await expect.poll(async () => (await state(again))?.step, { timeout: RUN_TIMEOUT }).toBe(end.step);
    expect((await state(again))!.console).toBe(cli.console);
    expect(againErrors).toEqual([]);
    await again.close();

    // A raw image two bytes off its window: the loader's message, in the message bar.
    await page.click("#view-guests");
    await upload(page, 0, join(images, "hello.bin"), "0x4800_0002");
    await page.click("#boot");
    await expect.poll(() => page.textContent("#message-text")).toContain("L2 image guests/l2/hello.bin at 0x48000002 is not at the start of an L2 window");
    expect(await page.getAttribute("#message", "data-kind")).toBe("error");
    expect(errors).toEqual([]);
    await page.close();
  }, RUN_TIMEOUT);
});
