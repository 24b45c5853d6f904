// Metrics counters and the event ring buffer.

import { describe, expect, it } from "vitest";
import { EventLog, formatEvent } from "../../hypervisor/events.ts";
import { Metrics } from "../../hypervisor/metrics.ts";

describe("Metrics", () => {
  it("counts fields, grouped counters and free-form names", () => {
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
    m.sample("other", 7);
    m.inc("exits.SYS64");
    const s = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    expect(s.shadowMmusVisited).toEqual([3, 0]);
    expect(s.other).toEqual([7]);
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
    for (const k of ["exit", "inject", "eret", "mmio"]) {
      log.add(k, `d-${k}`);
      step += 5;
    }
    expect(log.total).toBe(4);
    expect(log.recent().map((e) => e.kind)).toEqual(["inject", "eret", "mmio"]);
    expect(log.recent(2).map((e) => e.step)).toEqual([20, 25]);
    expect(seen).toEqual(["exit", "inject", "eret", "mmio"]);
    expect(formatEvent(log.recent(1)[0]!)).toMatch(/^\[\s+25\] mmio\s+d-mmio$/);
  });
});
