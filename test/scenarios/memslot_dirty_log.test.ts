// The memslot and dirty-log scenarios beyond their own expectations: deletion under every strategy,
// which canonical pages the dirty log reports for L2's writes, and the shadow-VMID TLB flush that
// decides whether L2's later writes reach the log.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KvmEvent } from "../../hypervisor/events.ts";
import { runVm } from "../../lab/run.ts";
import { prepareScenario, runScenario } from "../../lab/scenario/run.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

const DIR = join(REPO_ROOT, "scenarios");

/** Run a scenario and keep every event of the given kinds. */
async function eventsOf(file: string, kinds: string[]): Promise<KvmEvent[]> {
  const p = await prepareScenario(join(DIR, file));
  const seen: KvmEvent[] = [];
  const monitors = p.vm.monitors!;
  const r = runVm({
    ...p.vm,
    monitors: (kvm) => {
      kvm.events.subscribe((e) => {
        if (kinds.includes(e.kind)) seen.push(e);
      });
      return monitors(kvm);
    },
  });
  expect(r.outcome).toMatchObject({ kind: "system-off", code: 0 });
  return seen;
}

describe.concurrent("memslot and dirty-log scenarios", () => {
  it("memslot_delete under every safe strategy: the slot's shadow leaves go, the invariants hold, L2 #5 finishes", async () => {
    const removed: Record<string, number> = {};
    for (const unmap of ["full", "revmap", "accel"] as const) {
      const r = await runScenario(join(DIR, "memslot_delete.yaml"), { unmap });
      expect(r.outcome, unmap).toMatchObject({ kind: "system-off", code: 0 });
      expect(r.failures.filter((f) => !f.startsWith("metric shadow")), unmap).toEqual([]);
      removed[unmap] = r.metrics.shadowEntriesRemoved;
    }
    // full empties all six valid MMUs; the others take exactly L2 #4's 65 leaves.
    expect(removed.revmap).toBe(65);
    expect(removed.accel).toBe(65);
    expect(removed.full).toBeGreaterThan(65);
  });

  it("dirty_log_nested: every read of the log reports exactly the 64 canonical pages behind L2's nested buffer", async () => {
    const events = await eventsOf("dirty_log_nested.yaml", ["memslot", "relax-perms"]);
    const reads = events.filter((e) => e.data.kind === "memslot" && e.data.what === "get-dirty-log").map((e) => e.data);
    expect(reads.map((d) => (d.kind === "memslot" && d.what === "get-dirty-log" ? d.dirty : -1))).toEqual([64, 64, 64, 64]);
    const relaxed = new Set<bigint>();
    for (const e of events) {
      if (e.data.kind !== "relax-perms") continue;
      expect(e.data).toMatchObject({ mmu: 0, size: 0x1000n, dirty: true });
      // Nested 0x40100000 + n pages is canonical 0x48100000 + n pages (L1 maps L2's window 1:1 at +0x08000000).
      expect(e.data.canonicalIpa - e.data.ipa).toBe(0x0800_0000n);
      relaxed.add(e.data.canonicalIpa);
    }
    expect([...relaxed].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 64 }, (_, i) => 0x4810_0000n + BigInt(i) * 0x1000n));
  });

  it("dirty_log_shadow_tlb: the same run loses passes 2-4 from the log only because the shadow VMID kept its TLB entries", async () => {
    const kvmAs = await runScenario(join(DIR, "dirty_log_shadow_tlb.yaml"));
    const flushed = await runScenario(join(DIR, "dirty_log_nested.yaml"));
    expect(kvmAs.ok).toBe(true);
    expect(kvmAs.metrics["dirtyLog.dirtyPages"]).toEqual([64, 0, 0, 0]);
    expect(flushed.metrics["dirtyLog.dirtyPages"]).toEqual([64, 64, 64, 64]);
    expect(kvmAs.console).toBe(flushed.console);
  });
});
