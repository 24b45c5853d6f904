// L1 (remap.S) changes the stage-2 descriptor of L2's page 0x4000_1000 to point at one of its own
// pages (remap_page, holding 0xfedcba9876543210). With break-before-make and TLBI IPAS2E1IS the
// architecture guarantees L2 then reads the new page, and nvlab must honour that. Without the
// TLBI the architecture allows either value: the shadow stage-2 entry L0 built from the old
// descriptor acts as a TLB entry, and nvlab keeps serving the old page until something removes it.

import { describe, expect, it } from "vitest";
import { kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { assemblePair, bootPair, E2E_MAX_STEPS, l1Path, l2Path, runPair } from "./harness.ts";

const TARGET = 0x4000_1000n; // remap_target: L2's second page (nested IPA)
const OLD = "remap: after  0x0123456789abcdef\n";
const NEW = "remap: after  0xfedcba9876543210\n";

/** Host PA behind canonical IPA `ipa` in L0's canonical stage-2. */
function canonicalPa(kvm: Kvm, ipa: bigint): bigint {
  const leaf = kvm.mmu.pgt.getLeaf(ipa);
  if (!leaf) throw new Error(`canonical IPA 0x${ipa.toString(16)} is not mapped`);
  return leaf.pa + (ipa - leaf.ipa);
}

/** Host PA the (only) shadow MMU maps the nested IPA `ipa` to, or null. */
function shadowPa(kvm: Kvm, ipa: bigint): bigint | null {
  const mmus = kvm.nestedMmus.filter((m) => m.valid);
  expect(mmus).toHaveLength(1);
  const leaf = mmus[0]!.pgt.getLeaf(ipa);
  return leaf ? leaf.pa + (ipa - leaf.ipa) : null;
}

async function remapPage(): Promise<bigint> {
  const p = await assemblePair(l1Path("remap"), [l2Path("remap")]);
  return p.l1.symbols.get("remap_page")!;
}

describe("L1 remaps an L2 page", () => {
  it("with TLBI IPAS2E1IS: L2 reads the new page (the remap pair's QEMU output)", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "remap+remap")!;
    const r = await runPair(pair.l1, pair.l2.map((s) => s.path));
    expect(r.console).toBe(pair.expected);
    expect(r.console).toContain(NEW);
    const m = r.metrics;
    expect(m.tlbi).toEqual({ IPAS2E1IS: 1, VMALLE1IS: 1 });
    // Two pages faulted into L1 (code, target: 2 shadow faults each), then one shadow fault
    // after the TLBI tore the target's shadow entry down: L1 already maps the new page.
    expect(m.faultsInjectedToL1).toBe(2);
    expect(m.shadowFaults).toBe(5);
    // The shadow leaf now points at L1's remap_page.
    expect(shadowPa(r.kvm, TARGET)).toBe(canonicalPa(r.kvm, await remapPage()));
  });

  it("without TLBI: nvlab keeps serving the OLD page — allowed behaviour (a stale TLB entry), not a guarantee", async () => {
    const r = await runPair(l1Path("remap"), [l2Path("remap_notlbi")]);
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.console).toContain("L1: remapped L2 page 0x40001000 (no TLBI)\n");
    // The architecture allows either value here (QEMU may print either); nvlab's shadow entry
    // behaves as a TLB entry that nothing invalidated, so the old contents are what L2 reads.
    expect(r.console).toContain(OLD);
    expect(r.metrics.tlbi).toEqual({});
    expect(r.metrics.shadowFaults).toBe(4);
    expect(shadowPa(r.kvm, TARGET)).toBe(canonicalPa(r.kvm, 0x4800_1000n));
  });

  it("without TLBI, once the stale shadow entry goes (an unrelated canonical unmap empties the shadow MMUs), L2 sees the new page", async () => {
    const kvm = await bootPair(l1Path("remap"), [l2Path("remap_notlbi")]);
    const vcpu = kvm.vcpus[0]!;
    // L1 prints its remap line inside the HVC, before returning to L2's second read.
    let steps = 0;
    while (!kvm.console.includes("(no TLBI)\n")) {
      expect(kvmArchVcpuRun(vcpu, 25).kind).toBe("budget");
      steps += 25;
      expect(steps).toBeLessThan(1_000_000);
    }
    expect(kvm.console).not.toContain("remap: after");
    expect(shadowPa(kvm, TARGET)).toBe(canonicalPa(kvm, 0x4800_1000n));
    // A canonical page neither guest uses: the "full" strategy still empties every shadow MMU.
    kvmUnmapGfnRange(kvm, 0x4780_0000n, 0x1000n);
    expect(kvm.nestedMmus.every((m) => [...m.pgt.leaves()].length === 0)).toBe(true);
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    expect(kvm.console).toContain(NEW);
    expect(kvm.console).not.toContain(OLD);
  });
});
