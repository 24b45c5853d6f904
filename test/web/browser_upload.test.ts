// Uploading an image in the lab page, in a real browser (Debian's Chromium driven by playwright-core,
// launched and served as test/web/browser.test.ts does): an ELF that `nvlab build` made of hello.S,
// uploaded as L2 #0 beside hyp.S, shows its read-only summary, boots and runs to the console
// `nvlab run` prints for the assembly pair, and again from its permalink; a raw image at a
// misaligned IPA fails in the message bar with the loader's words.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCommand } from "../../cli/build.ts";
import { runCommand } from "../../cli/run.ts";
import { chromiumTitle, hasChromium, type LabHarness, openLab as openTab, RUN_TIMEOUT, startLab, state, waitStatus } from "./lab_page.ts";

let lab: LabHarness;
let images: string;

function openLab(hash = ""): Promise<{ page: Page; errors: string[] }> {
  return openTab(lab, hash);
}

/** Chooses L2 #`index` at `ipa` (or keeps the default) and uploads `file` into it. */
async function upload(page: Page, index: number, file: string, ipa?: string): Promise<void> {
  await page.selectOption("#upload-slot", { label: `as L2 #${index}` });
  if (ipa !== undefined) await page.fill("#upload-ipa", ipa);
  await page.setInputFiles("#upload-file", file);
}

describe.skipIf(!hasChromium)(chromiumTitle("uploading an image in the lab page in Chromium"), () => {
  beforeAll(async () => {
    images = mkdtempSync(join(tmpdir(), "nvlab-upload-"));
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(images, "hello.elf"), fallback: "elf" });
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(images, "hello.bin"), fallback: "elf" });
    lab = await startLab();
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
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
