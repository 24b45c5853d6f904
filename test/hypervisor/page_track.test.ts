// Write tracking of L1's stage-2 table pages: L1 (remap.S) rewrites L2's descriptor for nested
// 0x4000_1000 (break: store 0, make: store the new page) in a level-3 table L0 has walked. Each
// store is an s2-table-write event with the step, PC and VA of the store and the descriptor before
// and after; L1's other stores (stack, data, the tables before L0 walked them) are not. Tracking
// follows the gfn: a table page the host reclaimed and L1 faults back in is tracked on its new
// host page.

import { beforeAll, describe, expect, it } from "vitest";
import type { S2TableWriteEventData } from "../../hypervisor/event_data.ts";
import { kvmReadGuest, kvmUnmapGfnRange } from "../../hypervisor/mmu.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { bootPair, E2E_MAX_STEPS, l1Path, l2Path } from "../e2e/harness.ts";

const TARGET = 0x4000_1000n;
/** L1's level-3 table for L2's window (remap.S's pool: root at 0x4400_0000, then level 2, then level 3). */
const L3_TABLE = 0x4400_2000n;
const STR_XZR_X0 = 0xf900001fn; // str xzr, [x0]
const STR_X1_X0 = 0xf9000001n; // str x1, [x0]
const S2_PAGE_RAM = 0x7ffn; // valid page, AF, SH, S2AP RW, MemAttr normal (remap_service.S's S2_ATTR_RAM | S2_PAGE)

const boot = (): Promise<Kvm> => bootPair(l1Path("remap"), [l2Path("remap")]);

function tableWrites(kvm: Kvm): (S2TableWriteEventData & { step: number })[] {
  return [...kvm.events.history.newest("s2-table-write")].reverse().map((h) => ({ ...(h.data as S2TableWriteEventData), step: h.step }));
}

async function runToEnd(): Promise<Kvm> {
  const kvm = await boot();
  expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  return kvm;
}

describe("s2-table-write events (L1 remaps an L2 page)", () => {
  let kvm: Kvm;
  let writes: ReturnType<typeof tableWrites>;
  beforeAll(async () => {
    kvm = await runToEnd();
    writes = tableWrites(kvm);
  });

  it("reports the break and the make of L2's descriptor, with the instruction that stored each", () => {
    const mine = writes.filter((w) => w.ipa === L3_TABLE + 8n);
    // The first map (after L2's fault was injected), then the remap's break and make.
    expect(mine.map((w) => [w.old, w.new])).toEqual([
      [0n, 0x4800_1000n | S2_PAGE_RAM],
      [0x4800_1000n | S2_PAGE_RAM, 0n],
      [0n, (mine[2]!.new & ~0xfffn) | S2_PAGE_RAM],
    ]);
    const [, brk, make] = mine;
    // L1 runs with its MMU off: PCs and VAs are canonical IPAs.
    expect(kvmReadGuest(kvm, brk!.pc, 4)).toBe(STR_XZR_X0);
    expect(kvmReadGuest(kvm, make!.pc, 4)).toBe(STR_X1_X0);
    for (const w of mine) {
      expect(w).toMatchObject({ vcpu: 0, level: "L1", va: L3_TABLE + 8n, size: 8, tableLevel: 3, nestedIpa: TARGET, span: 0x1000n });
      expect(w.pa & 0xfffn).toBe(8n);
    }
    expect(brk!.step).toBeLessThan(make!.step);
  });

  it("reports nothing else: only stores into the table pages L0 walked, once each", () => {
    // L1 also maps L2's first page's level-1 entry after L0's first walk failed there (level 1, 1G span).
    expect(writes).toHaveLength(4);
    expect(writes[0]).toMatchObject({ ipa: 0x4400_0008n, tableLevel: 1, nestedIpa: 0x4000_0000n, span: 0x4000_0000n, old: 0n });
    expect(new Set(writes.map((w) => w.ipa & ~0xfffn))).toEqual(new Set([0x4400_0000n, L3_TABLE]));
    expect(kvm.pageTrack.isTracked(L3_TABLE)).toBe(true);
    // L1's code and data pages are stored to all the time, and never walked as tables.
    expect(kvm.pageTrack.isTracked(0x4010_0000n)).toBe(false);
    expect(kvm.pageTrack.size).toBe(3);
  });

  it("an event's step is the store's: one step before, the old descriptor and the PC of the store; at the step, the new one", async () => {
    for (const w of writes.filter((x) => x.ipa === L3_TABLE + 8n)) {
      const fresh = await boot();
      const vcpu = fresh.vcpus[0]!;
      expect(kvmArchVcpuRun(vcpu, w.step - 1).kind).toBe("budget");
      expect(kvmReadGuest(fresh, w.ipa, 8)).toBe(w.old);
      expect(vcpu.cpu.getPC()).toBe(w.pc);
      expect(kvmArchVcpuRun(vcpu, 1).kind).toBe("budget");
      expect(fresh.steps).toBe(w.step);
      expect(kvmReadGuest(fresh, w.ipa, 8)).toBe(w.new);
    }
  });
});

describe("tracking follows the gfn", () => {
  it("a table page the host reclaimed is tracked again on the host page it comes back on", async () => {
    const kvm = await boot();
    const vcpu = kvm.vcpus[0]!;
    // After L2's pages were mapped (the first make) and before the remap.
    const before = tableWrites(await runToEnd()).filter((w) => w.ipa === L3_TABLE + 8n);
    expect(kvmArchVcpuRun(vcpu, before[1]!.step - 100).kind).toBe("budget");
    const slot = kvm.memslots.find((s) => s.contains(L3_TABLE))!;
    const oldPa = slot.hostPa(L3_TABLE)!;
    expect(kvm.mem.existingPage(oldPa)!.track).toBe(kvm.pageTrack);
    kvmUnmapGfnRange(kvm, L3_TABLE, 0x1000n);
    expect(slot.hostPa(L3_TABLE)).toBeNull();
    // Back in the pool: no longer tracked (a later use of the host page is not L1's table).
    expect(kvm.mem.existingPage(oldPa)!.track).toBeNull();
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    const after = tableWrites(kvm).filter((w) => w.ipa === L3_TABLE + 8n);
    expect(after.map((w) => [w.old, w.new])).toEqual(before.map((w) => [w.old, w.new]));
    const newPa = slot.hostPa(L3_TABLE)!;
    expect(newPa).not.toBe(oldPa);
    expect(after.slice(1).map((w) => w.pa)).toEqual([BigInt(newPa) + 8n, BigInt(newPa) + 8n]);
  });
});
