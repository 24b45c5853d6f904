// The host takes back a canonical page (kvmUnmapGfnRange, KVM's MMU-notifier path) while L2 is in
// the middle of checksum.S — eight passes over 64 pages it filled earlier. L0 must remove the
// canonical entry and every shadow entry that may map the page (the "full" strategy empties every
// shadow MMU), preserve the contents and free (poison) the host page; the guests then re-fault and
// read exactly the same data, so the run prints the same checksum as an undisturbed one.

import { describe, expect, it } from "vitest";
import { kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { bootPair, E2E_MAX_STEPS, l1Path, l2Path } from "./harness.ts";

const PAIR = GUEST_PAIRS.find((p) => p.name === "hyp+checksum")!;
/** L2's window (L2 #0) in canonical IPA; nested 0x4000_0000 + off is canonical 0x4800_0000 + off. */
const L2_WINDOW = 0x4800_0000n;
/** checksum.S's buffer: 64 pages, 1 MiB above its image. */
const BUF = L2_WINDOW + 0x10_0000n;
const BUF_PAGES = 64;
/** L2 pages: its code page plus the buffer. */
const L2_PAGES = 1 + BUF_PAGES;
/**
 * Where to intervene: the buffer is filled (all 65 shadow leaves exist) after ~150K instructions
 * and the run ends at ~1.46M; at 400K L2 is in its second checksum pass, so it still executes its
 * code page and reads all 64 buffer pages again afterwards.
 */
const UNMAP_AT = 400_000;

function allLeaves(kvm: Kvm) {
  return [kvm.mmu, ...kvm.nestedMmus].flatMap((mmu) => [...mmu.pgt.leaves()].map((l) => ({ mmu, ...l })));
}

/** Leaves (canonical or shadow) whose output range holds host page `pa`. */
function leavesMapping(kvm: Kvm, pa: bigint) {
  return allLeaves(kvm).filter((l) => pa >= l.pa && pa < l.pa + l.size);
}

/** Host PA backing a canonical IPA (the memslot's resident page: shadow faults map from it, not from the canonical stage-2). */
function canonicalPa(kvm: Kvm, ipa: bigint): bigint {
  const pa = kvm.memslots[0]!.hostPa(ipa);
  if (pa === null) throw new Error(`canonical 0x${ipa.toString(16)} is not backed`);
  return BigInt(pa) + (ipa & 0xfffn);
}

interface Case {
  what: string;
  ipa: bigint;
  /** L2 maps the page: a shadow leaf points at it before the unmap. */
  l2: boolean;
  /** L1 accesses the page again after the unmap: one more canonical fault (L2's accesses make none). */
  l1Refaults: boolean;
}

const CASES: Case[] = [
  // L1 reads L2's strings from it for hvc_puts, through its own (canonical) mapping.
  { what: "L2's code page", ipa: L2_WINDOW, l2: true, l1Refaults: true },
  { what: "L2's first buffer page", ipa: BUF, l2: true, l1Refaults: false },
  { what: "an L2 buffer page in the middle", ipa: BUF + 37n * 0x1000n, l2: true, l1Refaults: false },
  { what: "L2's last buffer page", ipa: BUF + BigInt(BUF_PAGES - 1) * 0x1000n, l2: true, l1Refaults: false },
  // L1's entry page: hyp.S's exit handling runs from it, so L1 re-faults through the canonical path.
  { what: "L1's first code page", ipa: 0x4010_0000n, l2: false, l1Refaults: true },
  // The page below 0x4400_0000: L1 saves L2's registers there on every exit.
  { what: "L1's stack page", ipa: 0x43ff_f000n, l2: false, l1Refaults: true },
  // L2's stage-2 root (first table-pool page): only L0's walks of L1's tables read it from now on,
  // through the memslot, so no canonical fault follows.
  { what: "L1's stage-2 root table for L2", ipa: 0x4400_0000n, l2: false, l1Refaults: false },
];

describe("canonical unmap of a page in use, mid-run (hyp + checksum)", () => {
  it("an undisturbed run in the same chunks prints the expected checksum", async () => {
    const kvm = await bootPair(PAIR.l1, PAIR.l2.map((s) => s.path));
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, UNMAP_AT).kind).toBe("budget");
    expect(kvm.nestedMmus[0]!.pgt.leafCount).toBe(L2_PAGES);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    expect(kvm.console).toBe(PAIR.expected);
    expect(kvm.metrics.shadowFaults).toBe(2 * L2_PAGES);
  });

  for (const c of CASES) {
    it(`${c.what} (canonical 0x${c.ipa.toString(16)}): freed and poisoned, no leaf maps it, guests re-fault, same output`, async () => {
      const kvm = await bootPair(l1Path("hyp"), [l2Path("checksum")]);
      const vcpu = kvm.vcpus[0]!;
      expect(kvmArchVcpuRun(vcpu, UNMAP_AT).kind).toBe("budget");
      expect(vcpu.isHypCtxt()).toBe(false); // L2 is running

      const oldPa = canonicalPa(kvm, c.ipa);
      expect(kvm.pool.isPoisoned(Number(oldPa))).toBe(false);
      const shadowBefore = kvm.nestedMmus.flatMap((m) => [...m.pgt.leaves()]);
      expect(shadowBefore).toHaveLength(L2_PAGES);
      // The page is in use: a shadow leaf maps it (L2's pages), or L1 has used it.
      const shadowHits = leavesMapping(kvm, oldPa).filter((l) => l.mmu !== kvm.mmu);
      expect(shadowHits).toHaveLength(c.l2 ? 1 : 0);
      if (c.l2) expect(shadowHits[0]!.ipa).toBe(0x4000_0000n + (c.ipa - L2_WINDOW));
      const before = { ...kvm.metrics.snapshot() };
      const canonicalBefore = [...kvm.mmu.pgt.leaves()];
      const events: string[] = [];
      kvm.events.subscribe((e) => events.push(`${e.kind} ${e.detail}`));

      kvmUnmapGfnRange(kvm, c.ipa, 0x1000n);

      // Right after the unmap: the host page is back in the pool, poisoned, and nothing maps it.
      expect(kvm.pool.isPoisoned(Number(oldPa))).toBe(true);
      expect(leavesMapping(kvm, oldPa)).toEqual([]);
      expect(kvm.mmu.pgt.getLeaf(c.ipa)).toBeNull();
      // The "full" strategy emptied the one valid shadow MMU.
      expect(kvm.nestedMmus.flatMap((m) => [...m.pgt.leaves()])).toEqual([]);
      expect(kvm.metrics.canonicalUnmaps).toBe(1);
      expect(kvm.metrics.shadowEntriesRemoved).toBe(L2_PAGES);
      expect(kvm.metrics.shadowMmusVisited).toEqual([1]);
      // The whole canonical 2M block around the page went (KVM's stage2_unmap_walker); the host
      // still backs the rest of it, which faults back lazily as 4K pages.
      const block = c.ipa & ~0x1f_ffffn;
      expect(kvm.mmu.pgt.hasLeafIn(block, 0x20_0000n)).toBe(false);

      expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
      expect(kvm.console).toBe(PAIR.expected); // same checksum, all 8 passes agree

      const m = kvm.metrics;
      // Every L2 page is shadowed again by one shadow fault each: L1's tables still map them, so
      // nothing is injected into L1.
      expect(m.shadowFaults - before.shadowFaults).toBe(L2_PAGES);
      expect(m.l1S2Walks - before.l1S2Walks).toBe(L2_PAGES);
      expect(m.faultsInjectedToL1).toBe(before.faultsInjectedToL1);
      // The unmapped page comes back through the canonical fault path exactly once when L1 uses
      // it again; L2's accesses resolve it through the memslot and leave the canonical stage-2 alone.
      // Other pages of the removed block come back the same way, as 4K pages of the block's
      // memory; outside it only what L1 had not touched yet faults (first touches).
      const refaults = c.l1Refaults ? 1 : 0;
      const canonicalFaultLines = events.filter((e) => e.startsWith("canonical-fault"));
      expect(m.canonicalFaults - before.canonicalFaults).toBe(canonicalFaultLines.length);
      expect(canonicalFaultLines.filter((e) => e.includes(`IPA 0x${c.ipa.toString(16)} -> PA `))).toHaveLength(refaults);
      for (const e of canonicalFaultLines) {
        const ipa = BigInt(/IPA (0x[0-9a-f]+)/.exec(e)![1]!);
        if ((ipa & ~0x1f_ffffn) === block) expect(kvm.mmu.pgt.getLeaf(ipa)?.size, e).toBe(0x1000n);
        else expect(canonicalBefore.some((l) => ipa >= l.ipa && ipa < l.ipa + l.size), e).toBe(false);
      }
    });
  }

  it("several pages unmapped one after another at different points: still the same output", async () => {
    const kvm = await bootPair(l1Path("hyp"), [l2Path("checksum")]);
    const vcpu = kvm.vcpus[0]!;
    const pages = [L2_WINDOW, BUF + 5n * 0x1000n, 0x4010_0000n, BUF + 63n * 0x1000n];
    for (const ipa of pages) {
      expect(kvmArchVcpuRun(vcpu, 200_000).kind).toBe("budget");
      const pa = kvm.mmu.pgt.getLeaf(ipa) ? canonicalPa(kvm, ipa) : null;
      kvmUnmapGfnRange(kvm, ipa, 0x1000n);
      if (pa !== null) {
        expect(kvm.pool.isPoisoned(Number(pa))).toBe(true);
        expect(leavesMapping(kvm, pa)).toEqual([]);
      }
    }
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    expect(kvm.console).toBe(PAIR.expected);
    expect(kvm.metrics.canonicalUnmaps).toBe(pages.length);
    expect(kvm.metrics.faultsInjectedToL1).toBe(L2_PAGES);
  });
});
