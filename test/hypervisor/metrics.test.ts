// Metrics counters and the event ring buffer.

import { describe, expect, it } from "vitest";
import { EventLog, formatEvent, type KvmEventData } from "../../hypervisor/events.ts";
import { isMetricName, Metrics } from "../../hypervisor/metrics.ts";

describe("Metrics", () => {
  it("counts fields, grouped counters and the named counters of the typed set", () => {
    const m = new Metrics();
    m.inc("exits.HVC64");
    m.inc("exits.HVC64", 2);
    m.inc("tlbi.IPAS2E1IS");
    m.shadowFaults++;
    m.inc("shadowFaults", 4);
    m.inc("nestedErets");
    expect(m.get("exits.HVC64")).toBe(3);
    expect(m.get("tlbi.IPAS2E1IS")).toBe(1);
    expect(m.get("shadowFaults")).toBe(5);
    expect(m.get("nestedErets")).toBe(1);
    expect(m.get("exits.SMC64")).toBe(0);
  });

  it("keeps per-unmap samples and snapshots as plain JSON", () => {
    const m = new Metrics();
    m.recordUnmapVisit(3);
    m.sample("shadowMmusVisited", 0);
    m.sample("accel.staleBits", 7);
    m.inc("exits.SYS64");
    const s = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    expect(s.shadowMmusVisited).toEqual([3, 0]);
    expect(s["accel.staleBits"]).toEqual([7]);
    expect(s.exits).toEqual({ SYS64: 1 });
    expect(s.canonicalUnmaps).toBe(0);
    // A snapshot does not change with later counting.
    const snap = m.snapshot();
    m.inc("exits.SYS64");
    expect(snap.exits.SYS64).toBe(1);
  });
});

describe("EventLog", () => {
  it("keeps the last N events in order, stamped by the step source, and streams each one", () => {
    const log = new EventLog(3);
    let step = 10;
    log.stepSource = () => step;
    const seen: string[] = [];
    log.subscribe((e) => seen.push(e.kind));
    const events: KvmEventData[] = [
      { kind: "exit", ec: 0x16, level: "L1", esr: 0x5a000000n, elr: 0n },
      { kind: "inject", into: "l2-el1", esr: 0n, vector: 0x200n },
      { kind: "eret", to: "vEL2", mode: 9, illegal: false, pc: 0n },
      { kind: "mmio", device: "uart", write: true, offset: 0n, size: 1, rt: 0, value: 0x41n },
    ];
    for (const e of events) {
      log.add(e);
      step += 5;
    }
    expect(log.total).toBe(4);
    expect(log.recent().map((e) => e.kind)).toEqual(["inject", "eret", "mmio"]);
    expect(log.recent(2).map((e) => e.step)).toEqual([20, 25]);
    expect(seen).toEqual(["exit", "inject", "eret", "mmio"]);
    expect(formatEvent(log.recent(1)[0]!)).toMatch(/^\[\s+25\] mmio\s+uart write \+0x0 size=1 x0=0x41$/);
  });
});

describe("metric names", () => {
  it.each([
    ["shadowEntriesRemoved", true],
    ["revmap.polluted", true],
    ["injected.recycles", true],
    ["exits.HVC64", true],
    ["tlbi.IPAS2E1IS", true],
    ["shadowMmusVisited", true],
    ["shadowMmusVisited.max", true],
    ["accel.staleBits.max", true],
    ["revmap.staleEntries.count", true],
    ["shadowFaults.sum", true],
    ["shadowEntriesRemovd", false],
    ["injected.nothing", false],
    ["exits.", false],
    ["shadowMmusVisited.median", false],
    ["revmap", false],
  ] as const)("%s is a metric: %s", (name, ok) => {
    expect(isMetricName(name)).toBe(ok);
  });

  it("checks the keys of grouped counters when asked", () => {
    const known = (g: string, k: string) => (g === "exits" ? k === "HVC64" : k === "IPAS2E1IS");
    expect(isMetricName("exits.HVC64", known)).toBe(true);
    expect(isMetricName("exits.HVC65", known)).toBe(false);
    expect(isMetricName("tlbi.IPAS2E1IS.max", known)).toBe(true);
  });

  it("rejects a misspelt counter at compile time", () => {
    const m = new Metrics();
    // @ts-expect-error: not a counter of the typed set
    m.inc("shadowEntriesRemovd");
    // @ts-expect-error: not a sample name
    m.sample("shadowMmusVisitd", 1);
    expect(m.get("shadowEntriesRemoved")).toBe(0);
  });
});
