// The event log's long memory: what it keeps (the kinds that map, change or remove translations),
// how much (the newest HISTORY_DEPTH of each kind, counting the rest), and in which order.

import { describe, expect, it } from "vitest";
import type { CanonicalIpa, HostPa, NestedIpa } from "../../hypervisor/addr.ts";
import type { KvmEventData } from "../../hypervisor/event_data.ts";
import { HISTORY_DEPTH, keptInHistory } from "../../hypervisor/event_history.ts";
import { EventLog } from "../../hypervisor/events.ts";
import { EVENT_SAMPLES } from "./event_samples.ts";

const fault = (i: number): KvmEventData => ({
  kind: "shadow-fault", mmu: 0, nestedIpa: BigInt(i * 0x1000) as NestedIpa, canonicalIpa: 0x4800_0000n as CanonicalIpa, pa: 0x10_0000_0000n as HostPa,
  size: 0x1000n, prot: 7, level: 3, exec: false,
});
const chaos: KvmEventData = { kind: "chaos", source: "inject", action: "unmap", ipa: 0x4810_0000n as CanonicalIpa, size: 0x1000n };

describe("EventHistory", () => {
  it("keeps the events that map, change or remove translations, and not exits, ERETs, MMIO, PSCI or guest injections", () => {
    const kept = new Set(EVENT_SAMPLES.filter((s) => keptInHistory(s.data)).map((s) => s.name));
    const dropped = EVENT_SAMPLES.filter((s) => !keptInHistory(s.data)).map((s) => s.name);
    expect(kept).toContain("s2-table-write");
    expect(kept).toContain("inject stage-2 fault to L1");
    expect(kept).toContain("tlbi stage2");
    expect(kept).toContain("chaos unmap");
    expect(dropped).toEqual(expect.arrayContaining(["exit hvc", "inject into vEL2", "tlbi stage1", "mmio write", "psci version", "coalesce fault"]));
    expect(dropped.every((n) => /^(exit|eret|mmio|psci|inject into|inject (vEL2|L2)|tlbi (el2|el20|stage1)|coalesce fault)/.test(n))).toBe(true);
  });

  it("outlives the log's ring: the newest HISTORY_DEPTH events of each kind, newest first, with their steps", () => {
    const log = new EventLog(16);
    log.add(chaos, 1);
    for (let i = 0; i < HISTORY_DEPTH + 10; i++) log.add(fault(i), 100 + i);
    log.add({ kind: "exit", ec: 0x16, level: "L1", esr: 0n, elr: 0n }, 5000);
    expect(log.recent()).toHaveLength(16);
    const faults = [...log.history.newest("shadow-fault")];
    expect(faults).toHaveLength(HISTORY_DEPTH);
    expect(faults[0]!.step).toBe(100 + HISTORY_DEPTH + 9);
    expect(faults.at(-1)!.step).toBe(110);
    expect(log.history.dropped("shadow-fault")).toBe(10);
    expect(log.history.droppedKinds()).toEqual([["shadow-fault", 10]]);
    // The single injection, older than every fault, is still there; the exit never was.
    expect([...log.history.newest("chaos")].map((h) => [h.seq, h.step, h.data])).toEqual([[1, 1, chaos]]);
    expect([...log.history.newest("exit")]).toEqual([]);
    const all = log.history.all();
    expect(all).toHaveLength(HISTORY_DEPTH + 1);
    expect(all.map((h) => h.seq)).toEqual([...all.map((h) => h.seq)].sort((a, b) => b - a));
    expect(all.at(-1)!.data).toBe(chaos);
  });
});
