// L1 (blockmove.S) moves L2's 2M block at nested 0x4020_0000 from canonical block A to block B
// with break-before-make, invalidating with TLBI RIPAS2E1IS over only 8K inside the block, then
// TLBI VMALLE1IS. A TLBI by IPA removes every cached translation that holds an address of its
// range, so the whole block's translation goes and L2 must then read B on every page: QEMU, with
// L1 at real EL2, prints exactly that. L0 therefore drops the whole shadow leaf the range touches
// (KVM's stage2_unmap_walker) instead of splitting it and keeping the rest, whichever unmap
// strategy it runs and with the invariant checker watching every L0 action.

import { describe, expect, it } from "vitest";
import { InvariantChecker } from "../../lab/check.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { UNMAP_STRATEGIES } from "../../hypervisor/unmap/registry.ts";
import type { Kvm, VmConfig } from "../../hypervisor/vm.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { qemuAvailable, runOnQemu, type QemuRunResult } from "../qemu/qemu.ts";
import { bootPair, E2E_MAX_STEPS, runPair } from "./harness.ts";

const PAIR = GUEST_PAIRS.find((p) => p.name === "blockmove+blockmove")!;
const BLOCK = 0x4020_0000n; // the moved block (nested IPA)
const SZ_2M = 0x20_0000n;
const PAGE_5 = BLOCK + 0x5000n; // outside the 8K the TLBI names

/** Every registered strategy, and the direct map on top of the two that take it. */
const CONFIGS: Partial<VmConfig>[] = [
  ...UNMAP_STRATEGIES.map((unmap) => ({ unmap })),
  { unmap: "revmap", directMap: true },
  { unmap: "accel", directMap: true },
];
const label = (c: Partial<VmConfig>): string => `${c.unmap}${c.directMap ? " + directMap" : ""}`;

const haveQemu = qemuAvailable();
let onQemu: Promise<QemuRunResult> | undefined;
/** QEMU's console for the pair, booted once for all strategies. */
function qemuConsole(): Promise<QemuRunResult> {
  onQemu ??= runOnQemu({ l1: PAIR.l1, l2: PAIR.l2, timeoutMs: 15_000 });
  return onQemu;
}

/** Valid shadow leaves overlapping the moved block, over every shadow MMU. */
function shadowLeavesInBlock(kvm: Kvm): number {
  return kvm.nestedMmus.filter((m) => m.valid).reduce((n, m) => n + m.pgt.leavesIn(BLOCK, SZ_2M).length, 0);
}

/** Step vCPU 0 in small chunks until the console holds `text`. */
function runUntil(kvm: Kvm, text: string): void {
  const vcpu = kvm.vcpus[0]!;
  for (let steps = 0; !kvm.console.includes(text); steps += 25) {
    expect(steps).toBeLessThan(1_000_000);
    expect(kvmArchVcpuRun(vcpu, 25).kind).toBe("budget");
  }
}

describe("L1 moves a 2M block of L2 with a range TLBI over 8K inside it", () => {
  for (const config of CONFIGS) {
    it(`${label(config)}, checker on: L2 reads the new block everywhere, the console QEMU prints`, async () => {
      const r = await runPair(PAIR.l1, PAIR.l2, { config, check: true });
      expect(r.outcome.kind === "monitor-stop" ? r.outcome.message : "").toBe("");
      expect(r.console).toBe(PAIR.expected);
      expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
      // L0 decoded both of L1's TLBIs (the range form is FEAT_TLBIRANGE's, which L1 checks for).
      expect(r.metrics.tlbi).toEqual({ RIPAS2E1IS: 1, VMALLE1IS: 1 });
      if (haveQemu) {
        const q = await qemuConsole();
        expect(q.exitedCleanly, `QEMU did not power off: ${q.stderr}`).toBe(true);
        expect(r.console).toBe(q.console);
      }
    }, 30_000);

    it(`${label(config)}: the TLBI removes every shadow leaf of the block, not only the 8K it names`, async () => {
      const kvm = await bootPair(PAIR.l1, PAIR.l2, config);
      kvm.monitors.push(new InvariantChecker(kvm));
      // Before the move L2 has read pages 5, 2 and 511, and the shadow MMU caches the block as one
      // 2M leaf (L1's block over 2M canonical backing): the case where the TLBI's 8K fall inside a
      // larger shadow leaf. (Over 4K backing the shadow holds 4K pieces, and KVM, which unmaps
      // only the range a RIPAS2E1IS names, keeps the pieces outside it.)
      runUntil(kvm, "page 511 reads");
      const mmus = kvm.nestedMmus.filter((m) => m.valid);
      expect(mmus).toHaveLength(1);
      expect(mmus[0]!.pgt.getLeaf(PAGE_5), "a 2M shadow leaf holds page 5").toMatchObject({ ipa: BLOCK, size: SZ_2M });
      // L1 prints its line after the whole break-before-make, before L2 runs again.
      runUntil(kvm, "TLBI VMALLE1IS)\n");
      expect(shadowLeavesInBlock(kvm)).toBe(0);
      expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
      expect(kvm.console).toBe(PAIR.expected);
    }, 30_000);
  }
});
