// The lab page in a real browser: Debian's Chromium driven by playwright-core (no browser download).
// The page is built and served as `nvlab lab` serves it; the VM runs in the page's worker. Each test
// does what a user does with the mouse and checks what the page shows against what the CLI and the
// debugger say. Screenshots of every view go to .artifacts/lab/ (CI keeps them); with
// NVLAB_UPDATE_SCREENSHOTS=1 they also replace the README's, under docs/lab/.

import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../cli/run.ts";
import { DebugSession } from "../../debug/session.ts";
import { translateSpace } from "../../debug/translate_space.ts";
import { buildRunVm } from "../../lab/run_command.ts";
import { REPO_ROOT } from "../../web/build.ts";
import type { LabState } from "../../web/protocol.ts";
import { chromiumTitle, hasChromium, type LabHarness, openLab as openTab, RUN_TIMEOUT, startLab, state, waitStatus } from "./lab_page.ts";

const ARTIFACTS = join(REPO_ROOT, ".artifacts", "lab");
const README_SHOTS = join(REPO_ROOT, "docs", "lab");

let lab: LabHarness;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  if (process.env.NVLAB_UPDATE_SCREENSHOTS === "1") {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(file, join(README_SHOTS, `${name}.png`));
  }
}

function openLab(hash = ""): Promise<{ page: Page; errors: string[] }> {
  return openTab(lab, hash);
}

async function pickGuest(page: Page, label: RegExp | string): Promise<void> {
  const options = await page.locator("#guest-select option").evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? "" })));
  const found = options.find((o) => (typeof label === "string" ? o.text === label || o.value === label : label.test(o.text) || label.test(o.value)));
  if (!found) throw new Error(`no guest ${label} among ${options.map((o) => o.text).join(", ")}`);
  await page.selectOption("#guest-select", found.value);
}

async function setOption(page: Page, name: string, value: string): Promise<void> {
  const input = page.locator(`#opt-${name}`);
  if ((await input.getAttribute("type")) === "checkbox") await input.setChecked(value === "true");
  else if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(value);
  else await input.fill(value);
}

async function boot(page: Page): Promise<LabState> {
  await page.click("#boot");
  return waitStatus(page, ["ready", "stopped", "finished"]);
}

async function view(page: Page, name: string): Promise<void> {
  await page.click(`#view-${name}`);
  await page.locator(`#panel-${name}`).waitFor({ state: "visible" });
}

describe.skipIf(!hasChromium)(chromiumTitle("the lab page in Chromium"), () => {
  beforeAll(async () => {
    lab = await startLab();
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

  it("boots the demo and runs it to the end: the console nvlab run prints, the UI thread never blocked", async () => {
    const cli = await runCommand({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000 });
    const { page, errors } = await openLab();
    await shot(page, "guests");
    await boot(page);
    await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
    await page.click("#run");
    const end = await waitStatus(page, ["finished"]);
    await view(page, "run");
    await expect.poll(() => page.textContent("#console")).toBe(cli.console);
    expect(end.step).toBe(cli.steps);
    expect(await page.textContent("#status")).toContain("SYSTEM_OFF");
    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    // The guest ran in the worker: the page's own thread only drew states.
    console.log(`lab page: demo ran ${end.step} instructions at ${end.speed} instructions/s in the worker; UI-thread tasks over 50 ms while it ran: ${longTasks.length}${longTasks.length ? ` (longest ${Math.max(...longTasks).toFixed(0)} ms)` : ""}`);
    expect(Math.max(0, ...longTasks)).toBeLessThan(1000);
    await shot(page, "run");
    expect(errors).toEqual([]);
    await page.close();
  }, RUN_TIMEOUT);

  it("an edited guest: the assembler's error at its line, then a guest that spins while the page stays responsive", async () => {
    const { page, errors } = await openLab();
    await page.click('#file-tabs [data-path="guests/l2/hello.S"]');
    const editor = page.locator("#editor .cm-content");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("l2_entry:\n        mov x0, #1\n        bogus x1, x2\n");
    await page.click("#boot");
    await page.locator("#message").waitFor({ state: "visible" });
    expect(await page.textContent("#message-text")).toContain("guests/l2/hello.S:3:");
    await page.locator("#editor .cm-lintRange-error").first().waitFor();
    await shot(page, "editor-error");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type("l2_entry:\n        add x0, x0, #1\n        b l2_entry\n");
    await boot(page);
    await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
    await page.click("#run");
    await waitStatus(page, ["running"], 30_000);
    const first = Number(await page.getAttribute("#step-now", "data-step"));
    await expect.poll(async () => Number(await page.getAttribute("#step-now", "data-step")), { timeout: 30_000 }).toBeGreaterThan(first + 100_000);
    const t0 = Date.now();
    await page.click("#pause");
    const paused = await waitStatus(page, ["stopped"], 30_000);
    const pauseMs = Date.now() - t0;
    expect(paused.stop).toBe("interrupted");
    expect(paused.vcpus[0]!.level).toBe("L2");
    expect(paused.vcpus[0]!.registers.x[0]).toBeGreaterThan(1000n);
    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    console.log(`lab page: a spinning L2 ran ${paused.step} instructions at ${paused.speed} instructions/s in the worker; Pause took ${pauseMs} ms; UI-thread tasks over 50 ms while it ran: ${longTasks.length}${longTasks.length ? ` (longest ${Math.max(...longTasks).toFixed(0)} ms)` : ""}`);
    expect(Math.max(0, ...longTasks)).toBeLessThan(1000);
    expect(errors).toEqual([]);
    await page.close();
  }, RUN_TIMEOUT);

  it("stops at L2's entry and shows the registers the debugger reads there", async () => {
    const { page } = await openLab();
    await boot(page);
    await view(page, "run");
    await page.fill("#break-input", "l2_entry");
    await page.press("#break-input", "Enter");
    await expect.poll(async () => (await state(page))?.breakpoints.length).toBe(1);
    await page.click("#run");
    const st = await waitStatus(page, ["stopped"]);
    expect(st.vcpus[0]!.level).toBe("L2");
    expect(st.stop).toContain("l2_entry");
    // The same stop in the debugger, in Node: the same registers.
    const s = await DebugSession.open({ vm: await buildRunVm({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000 }) });
    s.addAddressBreak("l2_entry");
    await s.continue();
    const want = s.registers();
    expect(st.step).toBe(s.kvm.steps);
    expect(st.vcpus[0]!.registers.x).toEqual(want.x);
    expect(st.vcpus[0]!.registers.pc).toBe(want.pc);
    const regsText = (await page.textContent("#registers")) ?? "";
    expect(regsText).toContain(want.pc.toString(16).padStart(16, "0"));
    expect(regsText).toContain(want.sp.toString(16).padStart(16, "0"));
    expect(await page.locator("#disasm .current").textContent()).toContain("adr");
    // Stepping goes where the debugger's step goes: L1's handler of the injected stage-2 fault.
    await page.click("#step-insn");
    await expect.poll(async () => (await state(page))?.vcpus[0]!.level).toBe("L1");
    expect((await state(page))!.vcpus[0]!.location).toContain("lower_sync");
    await page.close();
  }, RUN_TIMEOUT);

  it("clicking a shadow leaf draws its translation with the addresses pt gives", async () => {
    const { page } = await openLab();
    await pickGuest(page, /hyp\+touch\b/);
    await setOption(page, "unmap", "revmap");
    await boot(page);
    await page.click("#run");
    const end = await waitStatus(page, ["finished"]);
    await view(page, "maps");
    const leaf = page.locator("tr.shadow-leaf").first();
    await leaf.waitFor();
    const nested = BigInt((await leaf.getAttribute("data-nested"))!);
    await shot(page, "maps");
    await leaf.click();
    await page.locator("#panel-translation").waitFor({ state: "visible" });
    await page.locator("#translation .tr-view").waitFor();
    // The CLI's debugger at the same step: `pt` of the L2 address (L2's stage-1 is off: VA = nested IPA).
    const s = await DebugSession.open({ vm: await buildRunVm({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/touch.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000, unmap: "revmap" }) });
    await s.continue();
    expect(s.kvm.steps).toBe(end.step);
    const pt = s.translate(nested, "L2");
    const fromLeaf = translateSpace(s.vcpu, "nipa", nested);
    const drawn = await page.locator("#translation a.addr").evaluateAll((as) => as.map((a) => BigInt((a as HTMLElement).dataset.addr!)));
    for (const addr of [pt.nestedIpa, pt.canonical, pt.hostPa, ...pt.shadows.map((x) => x.walk.output)]) expect(drawn).toContain(addr);
    expect(await page.textContent("#translation details.tr-text pre")).toBe(fromLeaf.text);
    expect(await page.locator("#translation .tr-shadow .tr-badge-agrees").count()).toBeGreaterThan(0);
    await shot(page, "translation");
    await page.close();
  }, RUN_TIMEOUT);

  it("a tour: a shadow fault and a canonical unmap, seen on the maps, in the events and drawn", async () => {
    const { page, errors } = await openLab();
    await pickGuest(page, /hyp\+touch\b/);
    await setOption(page, "unmap", "revmap");
    await boot(page);
    // The maps before anything ran: no shadow leaf yet.
    await view(page, "maps");
    await page.locator("#maps .maps-panel").first().waitFor();
    expect(await page.locator("tr.shadow-leaf").count()).toBe(0);
    await view(page, "run");
    await page.fill("#break-input", "event shadow-fault");
    await page.press("#break-input", "Enter");
    await expect.poll(async () => (await state(page))?.breakpoints.length).toBe(1);
    await page.click("#run");
    const fault = await waitStatus(page, ["stopped"]);
    expect(fault.stop).toMatch(/shadow-fault: mmu0 nested 0x40000000 -> canonical 0x48000000/);
    // The fault installed one shadow leaf: L2's code page, new since the maps before.
    await view(page, "maps");
    await expect.poll(() => page.locator("tr.shadow-leaf").count()).toBe(1);
    const leaf = page.locator("tr.shadow-leaf");
    expect(await leaf.getAttribute("data-nested")).toMatch(/^0x0*40000000$/);
    expect(await leaf.getAttribute("data-changed")).toBe("true");
    expect(await leaf.getAttribute("data-agrees")).toBe("true");
    await shot(page, "shadow-fault");
    // The fault's event names its nested IPA: a click draws that translation.
    await view(page, "events");
    await page.selectOption("#event-kind", "shadow-fault");
    await page.locator('#events [data-kind="shadow-fault"] a.addr[data-space="nipa"]').first().click();
    await page.locator("#translation .tr-view").waitFor();
    expect(await page.locator("#translation .tr-shadow .tr-badge-agrees").count()).toBe(1);
    await shot(page, "shadow-fault-translation");
    // On to the end of the run, then the host takes back the page behind nested 0x40100000.
    const id = fault.breakpoints[0]!.id;
    await page.evaluate((bp) => window.nvlab!.client.request({ op: "delete", breakpoint: bp }), id);
    await page.click("#run");
    await waitStatus(page, ["finished"]);
    await view(page, "run");
    await page.fill("#repl-input", "inject unmap 0x48100000");
    await page.press("#repl-input", "Enter");
    await expect.poll(() => page.textContent("#repl-output")).toContain("unmapped canonical 0x48100000+0x1000");
    await view(page, "maps");
    await expect.poll(() => page.locator('tr.shadow-leaf[data-nested$="40100000"]').count()).toBe(0);
    expect(await page.locator("tr.shadow-leaf").count()).toBe(64);
    expect(await page.locator('tr.revmap-range[data-start$="48100000"]').count()).toBe(0);
    // What the unmap took, drawn as gone since the last stop: the leaf and its revmap range.
    expect(await page.locator('tr.shadow-leaf-removed[data-nested$="40100000"]').count()).toBe(1);
    expect(await page.locator('tr.revmap-range-removed[data-start$="48100000"]').count()).toBe(1);
    expect(await page.textContent("#maps")).toContain("1 removed since the last stop");
    await shot(page, "canonical-unmap");
    await view(page, "events");
    await page.selectOption("#event-kind", "unmap");
    await expect.poll(() => page.textContent("#events")).toContain("1 shadow entries removed");
    await shot(page, "canonical-unmap-events");
    expect(errors).toEqual([]);
    await page.close();
  }, RUN_TIMEOUT);

  it("runs a scenario: its unmap events listed, the checker and the expectations shown", async () => {
    const { page } = await openLab();
    await pickGuest(page, /revmap_stale/);
    await boot(page);
    await page.click("#run");
    const end = await waitStatus(page, ["finished"]);
    expect(end.checker.attached).toBe(true);
    expect(end.expectations?.at(-1)).toMatch(/PASS/);
    await view(page, "events");
    await page.selectOption("#event-kind", "unmap");
    await expect.poll(() => page.locator("#events [data-kind]").count()).toBeGreaterThan(0);
    const rows = await page.locator("#events").textContent();
    expect(rows).toContain("unmap");
    await shot(page, "events");
    await view(page, "run");
    expect(await page.textContent("#expectations")).toMatch(/PASS/);
    expect(await page.textContent("#checker")).toMatch(/every invariant holds/);
    await view(page, "metrics");
    await page.locator("#metrics .metrics-chart canvas, #metrics .metrics-chart svg").first().waitFor({ timeout: 30_000 });
    await shot(page, "metrics");
    await page.close();
  }, RUN_TIMEOUT);

  it("a permalink opens on the same guests, options and step", async () => {
    const { page } = await openLab();
    await pickGuest(page, /hyp\+touch\b/);
    await setOption(page, "unmap", "accel");
    await boot(page);
    await page.click("#run");
    const end = await waitStatus(page, ["finished"]);
    await page.evaluate((step) => window.nvlab!.client.request({ op: "goto", step }), Math.floor(end.step / 3));
    const here = await waitStatus(page, ["stopped"]);
    expect(here.step).toBe(Math.floor(end.step / 3));
    await page.click("#permalink");
    // The link is compressed asynchronously (CompressionStream).
    await expect.poll(() => page.inputValue("#permalink-url")).toContain("#lab=");
    const url = await page.inputValue("#permalink-url");
    await page.close();
    const { page: again, errors } = await openLab(url.slice(url.indexOf("#")));
    await expect.poll(async () => (await state(again))?.step, { timeout: RUN_TIMEOUT }).toBe(here.step);
    const there = (await state(again))!;
    expect(there.vcpus[0]!.registers).toEqual(here.vcpus[0]!.registers);
    expect(there.console).toBe(here.console);
    expect(there.metrics).toEqual(here.metrics);
    expect(errors).toEqual([]);
    await again.close();
  }, RUN_TIMEOUT);
});
