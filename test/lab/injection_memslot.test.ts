// The memslot injections on a live VM (hyp + checksum with L1's RAM as two memslots, paused while
// L2 runs): deleting a slot, dirty logging on and off, reading the dirty log. Each is logged as a
// "chaos" event and counted under injected.*.

import { describe, expect, it } from "vitest";
import { HostError } from "../../hypervisor/errors.ts";
import { gfnToMemslot } from "../../hypervisor/mmu.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import { deleteMemslot, getDirtyLog, logDirtyPages } from "../../lab/injection.ts";
import { E2E_MAX_STEPS, bootPair, l1Path, l2Path } from "../e2e/harness.ts";

/** L2 is in its checksum passes (canonical 0x48000000, the second memslot): MMU 0 maps it. */
async function midRun() {
  const kvm = await bootPair(l1Path("hyp"), [l2Path("checksum")], { ramSlots: 2 });
  expect(kvmArchVcpuRun(kvm.vcpus[0]!, 400_000).kind).toBe("budget");
  expect(kvm.vcpus[0]!.isHypCtxt()).toBe(false);
  return kvm;
}

const chaosEvents = (kvm: Awaited<ReturnType<typeof midRun>>) => kvm.events.recent().filter((e) => e.kind === "chaos").map((e) => e.detail);

describe("memslot injections", () => {
  it("logDirtyPages and getDirtyLog: the checksum passes only read, so nothing is dirty until L2 writes; logged and counted", async () => {
    const kvm = await midRun();
    const slot = logDirtyPages(kvm, 0x4810_0000n, true, "test");
    expect(slot.base).toBe(kvm.memslots[1]!.base);
    const mmu = kvm.nestedMmus[0]!;
    expect(mmu.pgt.getLeaf(0x4010_0000n)!.prot & 2).toBe(0);
    expect(getDirtyLog(kvm, 0x4800_0000n, "test")).toEqual([]);
    logDirtyPages(kvm, 0x4800_0000n, false, "test");
    expect(() => getDirtyLog(kvm, 0x4800_0000n)).toThrow(/does not log dirty pages/);
    expect(kvm.metrics.get("injected.dirtyLogs")).toBe(3);
    expect(chaosEvents(kvm)).toEqual([
      "test: dirty logging on for the memslot holding canonical 0x48100000",
      "test: get and clear the dirty log of the memslot holding canonical 0x48000000",
      "test: dirty logging off for the memslot holding canonical 0x48000000",
    ]);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  });

  it("deleteMemslot of L2's slot: its shadow leaves go and L2's next access is not RAM; an address with no slot is refused", async () => {
    const kvm = await midRun();
    expect(() => deleteMemslot(kvm, 0x3000_0000n)).toThrow(HostError);
    const mmu = kvm.nestedMmus[0]!;
    expect(mmu.pgt.leafCount).toBeGreaterThan(60);
    deleteMemslot(kvm, 0x4800_0000n, "test");
    expect(gfnToMemslot(kvm, 0x4800_0000n)).toBeNull();
    expect(mmu.pgt.leafCount).toBe(0);
    expect(kvm.metrics.get("injected.memslotDeletes")).toBe(1);
    expect(chaosEvents(kvm)).toEqual(["test: delete the memslot holding canonical 0x48000000"]);
    // L2's next access to its code finds no memslot: io_mem_abort, not RAM.
    let r: unknown;
    try {
      r = kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS);
    } catch (e) {
      r = e;
    }
    expect(String(r instanceof Error ? r.message : JSON.stringify(r))).toMatch(/canonical IPA 0x480[0-9a-f]+ .*which is not RAM|canonical IPA 0x480[0-9a-f]+ .*outside RAM/);
  });
});
