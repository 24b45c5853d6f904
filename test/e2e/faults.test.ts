// Stage-2 fault accounting on real guests: L2 (`touch.S`, its page count patched through the
// `touch_pages` word as the QEMU harness does) writes and reads back N distinct 4K pages starting
// 1 MiB above its image, under L1s with different stage-2 formats. Every count below is derived
// from the guests' layout, not recorded from a run:
//
// - touch.S's code (and the strings L1 reads for puts) fits in one 4K page at nested 0x4000_0000;
//   its data pages are nested 0x4010_0000 + i * 4K, i < N.
// - L1 maps lazily, one leaf per stage-2 translation fault, and a fault on an address L1 has not
//   mapped is injected into L1 (faultsInjectedToL1) — which is also the count L1 prints itself.
// - A shadow fault (shadowFaults) is an L2 stage-2 abort taken by L0 on a shadow MMU. Each L1
//   leaf costs one shadow fault that L0 injects (L1's tables have nothing yet), then the retry
//   faults again and L0 installs a shadow leaf; every further shadow leaf inside an L1 leaf that is
//   already mapped costs one fault. So shadowFaults = faultsInjectedToL1 + shadow leaves installed,
//   and a shadow leaf is min(L1's leaf, the host backing of the canonical page) rounded down to a
//   host size (4K, 2M, 1G): with L1 4K pages or 64K pages it is 4K; with L1 2M blocks over 2M host
//   blocks it is 2M; over 4K host pages (config.blocks = false) it is 4K.
// - canonicalFaults counts L1's own faults only (4K pages, or 2M blocks when allowed): its image,
//   its stack page, its stage-2 tables as they are zeroed and written, and L2's code page, which
//   L1 reads itself for hvc_puts. A shadow fault resolves L2's pages through the memslot and never
//   touches the canonical stage-2 (KVM's user_mem_abort on a nested MMU).

import { describe, expect, it } from "vitest";
import type { RunVmResult } from "../../lab/run.ts";
import { assemblePair, l1Path, l2Path, L1_IPA, runPair } from "./harness.ts";

const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_2M = 0x20_0000;
const NESTED_BASE = 0x4000_0000;
/** touch.S's first data page, 1 MiB above the image (nested IPA). */
const TOUCH_BASE = NESTED_BASE + 0x10_0000;
/** L2's canonical window (L2 #0). */
const L2_CANONICAL = 0x4800_0000;

/** Distinct `unit`-sized regions holding [start, end). */
function regions(start: number, end: number, unit: number): number {
  return end <= start ? 0 : Math.floor((end - 1) / unit) - Math.floor(start / unit) + 1;
}

/** Distinct `unit`-sized regions L2 touches: its code page(s) plus N data pages. */
function l2Regions(codeBytes: number, n: number, unit: number): number {
  const code = regions(NESTED_BASE, NESTED_BASE + codeBytes, unit);
  const data = regions(TOUCH_BASE, TOUCH_BASE + n * SZ_4K, unit);
  // touch.S's code and data are 1 MiB apart: they never share a 4K or 64K region, and share a
  // 2M region exactly when the data starts in the code's block.
  const shared = unit === SZ_2M && n > 0 ? 1 : 0;
  return code + data - shared;
}

let touchCodeBytes = 0;
let l1ImageBytes = 0;

async function layout(): Promise<void> {
  if (touchCodeBytes) return;
  const p = await assemblePair(l1Path("hyp"), [l2Path("touch")]);
  touchCodeBytes = p.l2[0]!.image.sections.reduce((n, s) => n + s.bytes.length, 0);
  l1ImageBytes = p.l1.sections.reduce((n, s) => n + s.bytes.length, 0);
}

function touch(l1: string, n: number, blocks = true): Promise<RunVmResult> {
  return runPair(l1Path(l1), [l2Path("touch")], { touchPages: n, config: { blocks } });
}

/** The guest side of a touch run: it completed and L1 reported `l1Faults`. */
function expectTouchRan(r: RunVmResult, n: number): void {
  expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
  expect(r.console).toContain(`touch: ${n} pages written and read back, 0 errors\n`);
  expect(r.console).toContain(`L1: L2 #0 exited with code 0, stage-2 faults: ${r.metrics.faultsInjectedToL1}\n`);
}

/** Shadow leaves of every nested MMU, by size. */
function shadowLeafSizes(r: RunVmResult): Map<bigint, number> {
  const sizes = new Map<bigint, number>();
  for (const mmu of r.kvm.nestedMmus) for (const l of mmu.pgt.leaves()) sizes.set(l.size, (sizes.get(l.size) ?? 0) + 1);
  return sizes;
}

const NS = [0, 1, 7, 64, 300, 512, 1000];

/** L2 pages L1 reads itself (touch.S's code page, for hvc_puts): the only L2 page canonical faults map. */
const L1_READS_OF_L2 = 1;

/**
 * L1's own canonical 4K pages (config.blocks = false): its image, the one stack page below
 * 0x4400_0000 it uses (it calls nothing deep), and `tablePages` of stage-2 tables in its pool.
 */
function l1CanonicalPages(tablePages: number): number {
  return regions(Number(L1_IPA), Number(L1_IPA) + l1ImageBytes, SZ_4K) + 1 + tablePages;
}

describe("L2 touching N pages under hyp.S (4K granule, lazy 4K pages)", () => {
  it("touch.S's code fits in one 4K page (the derivations below rely on it)", async () => {
    await layout();
    expect(touchCodeBytes).toBeLessThanOrEqual(SZ_4K);
  });

  it.each(NS)("N=%i: N+1 faults into L1, 2(N+1) shadow faults, shadow leaves all 4K", async (n) => {
    await layout();
    const r = await touch("hyp", n);
    expectTouchRan(r, n);
    const pages = l2Regions(touchCodeBytes, n, SZ_4K);
    expect(pages).toBe(n + 1);
    const m = r.metrics;
    expect(m.faultsInjectedToL1).toBe(n + 1);
    expect(m.shadowFaults).toBe(2 * (n + 1));
    // Every shadow fault walks L1's stage-2 (4K leaves: nothing is shadowed from a bigger leaf).
    expect(m.l1S2Walks).toBe(m.shadowFaults);
    expect(shadowLeafSizes(r)).toEqual(new Map([[BigInt(SZ_4K), n + 1]]));
    // Canonical 2M blocks: L1's image, stack and table pool lie in three blocks
    // (0x4000_0000, 0x43e0_0000, 0x4400_0000), and L1 reads L2's strings in the block at
    // 0x4800_0000; L2's own accesses add none, whatever N.
    expect(m.canonicalFaults).toBe(3 + 1);
    expect(r.kvm.mmu.pgt.hasLeafIn(BigInt(L2_CANONICAL) + 0x20_0000n, 0x40_0000n)).toBe(false);
    expect(m.mmusRecycled).toBe(0);
  });

  it.each([0, 7, 300, 1000])("N=%i, canonical 4K pages: same L1 and shadow faults; canonical faults = L1 pages + L2 pages + L1 tables", async (n) => {
    await layout();
    const r = await touch("hyp", n, false);
    expectTouchRan(r, n);
    const m = r.metrics;
    expect(m.faultsInjectedToL1).toBe(n + 1);
    expect(m.shadowFaults).toBe(2 * (n + 1));
    // hyp.S: T0SZ=25, start level 1: one level-1 root, one level-2 table (nested IPA < 1G
    // above 0x4000_0000), one level-3 table per 2M of nested IPA L2 touches.
    const l3Tables = l2Regions(touchCodeBytes, n, SZ_2M);
    expect(m.canonicalFaults).toBe(l1CanonicalPages(2 + l3Tables) + L1_READS_OF_L2);
  });
});

describe("L2 touching N pages under hypblock.S (lazy 2M blocks in L1's stage-2)", () => {
  it.each(NS)("N=%i, canonical 2M blocks: one L1 fault per 2M block, 2 shadow faults each (2M shadow leaves)", async (n) => {
    await layout();
    const r = await touch("hypblock", n);
    expectTouchRan(r, n);
    const blocks = l2Regions(touchCodeBytes, n, SZ_2M);
    const m = r.metrics;
    expect(m.faultsInjectedToL1).toBe(blocks);
    expect(m.shadowFaults).toBe(2 * blocks);
    expect(shadowLeafSizes(r)).toEqual(new Map([[BigInt(SZ_2M), blocks]]));
  });

  it.each([0, 7, 300, 1000])("N=%i, canonical 4K pages: one L1 fault per block, then one shadow fault per 4K page", async (n) => {
    await layout();
    const r = await touch("hypblock", n, false);
    expectTouchRan(r, n);
    const blocks = l2Regions(touchCodeBytes, n, SZ_2M);
    const m = r.metrics;
    expect(m.faultsInjectedToL1).toBe(blocks);
    expect(m.shadowFaults).toBe(blocks + (n + 1));
    expect(shadowLeafSizes(r)).toEqual(new Map([[BigInt(SZ_4K), n + 1]]));
    // hypblock.S: start level 2 with four concatenated 4K tables, 2M block leaves: no other tables.
    expect(m.canonicalFaults).toBe(l1CanonicalPages(4) + L1_READS_OF_L2);
  });

  it("2M blocks drop the shadow faults of a 1000-page touch from 2002 to 6", async () => {
    const [pages, blocks] = await Promise.all([touch("hyp", 1000), touch("hypblock", 1000)]);
    expect(pages.metrics.shadowFaults).toBe(2002);
    expect(blocks.metrics.shadowFaults).toBe(6);
  });
});

describe("L2 touching N pages under hyp64k.S (64K granule, lazy 64K pages)", () => {
  it.each(NS)("N=%i: one L1 fault per 64K page; shadow leaves stay 4K (64K is no host mapping size)", async (n) => {
    await layout();
    const r = await touch("hyp64k", n);
    expectTouchRan(r, n);
    const chunks = l2Regions(touchCodeBytes, n, SZ_64K);
    const m = r.metrics;
    expect(m.faultsInjectedToL1).toBe(chunks);
    expect(m.shadowFaults).toBe(chunks + (n + 1));
    expect(shadowLeafSizes(r)).toEqual(new Map([[BigInt(SZ_4K), n + 1]]));
  });

  it("N=1000, canonical 4K pages: canonical faults = L1 pages + two 64K tables + L2 pages", async () => {
    await layout();
    const r = await touch("hyp64k", 1000, false);
    expectTouchRan(r, 1000);
    // T0SZ=32, start level 2: a 64K level-2 root and one 64K level-3 table (512M each), 16
    // canonical 4K pages apiece as L1 zeroes them.
    expect(r.metrics.canonicalFaults).toBe(l1CanonicalPages(2 * 16) + L1_READS_OF_L2);
    expect(r.metrics.faultsInjectedToL1).toBe(1 + Math.ceil(1000 / 16));
  });
});

describe("L2 storing to the UART directly (uart.S under hyp.S)", () => {
  it("each store is one shadow fault emulated by L0 as MMIO; the UART page is never shadow-mapped", async () => {
    const lines: string[] = [];
    const r = await runPair(l1Path("hyp"), [l2Path("uart")], { onEvent: (l) => lines.push(l) });
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    const direct = "L2: hello via the UART\n";
    expect(r.console).toContain(direct);
    const m = r.metrics;
    // L1 maps two pages lazily: L2's code page and nested 0x0900_0000 (1:1, device).
    expect(m.faultsInjectedToL1).toBe(2);
    // Code page: injected + shadowed (2). UART page: injected once, then every byte store faults
    // again, the walk finds L1's device leaf onto canonical 0x0900_0000 (not RAM) and L0
    // emulates the store: one shadow fault per byte.
    expect(m.shadowFaults).toBe(2 + 1 + direct.length);
    const l2UartWrites = lines.filter((l) => / mmio +uart write .* x3=/.test(l)); // uart.S stores w3
    expect(l2UartWrites).toHaveLength(direct.length);
    const leaves = r.kvm.nestedMmus.flatMap((mmu) => [...mmu.pgt.leaves()]);
    expect(leaves.map((l) => l.ipa)).toEqual([0x4000_0000n]);
  });
});
