import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../../lab/scenario/run.ts";
import { DebugSession } from "../../debug/session.ts";
import { eventArgs, eventCategory, eventName } from "../../debug/trace_args.ts";
import { type ChromeTrace, type TraceEvent, TraceRecorder, writeTrace } from "../../debug/trace_event.ts";
import { runVm, type RunVmResult } from "../../lab/run.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { KvmVcpu } from "../../hypervisor/vcpu.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { assemblePair, bootPair, GUEST_MEMORY, type PairImages } from "../e2e/harness.ts";
import { EVENT_SAMPLES } from "../hypervisor/event_samples.ts";
import { traceProblems } from "../helpers/chrome_trace.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

type Slice = Extract<TraceEvent, { ph: "X" }>;
type Instant = Extract<TraceEvent, { ph: "i" }>;
type Counter = Extract<TraceEvent, { ph: "C" }>;

const slices = (t: ChromeTrace): Slice[] => t.traceEvents.filter((e): e is Slice => e.ph === "X");
const instants = (t: ChromeTrace): Instant[] => t.traceEvents.filter((e): e is Instant => e.ph === "i");
const counters = (t: ChromeTrace): Counter[] => t.traceEvents.filter((e): e is Counter => e.ph === "C");

/** Run a guest pair with a recorder attached, as `nvlab run --trace-out` does. */
function tracedRun(images: PairImages, opts: { maxEvents?: number; maxSteps?: number } = {}): { r: RunVmResult; rec: TraceRecorder } {
  let rec: TraceRecorder | null = null;
  const r = runVm({
    l1: images.l1,
    l2: images.l2,
    config: { memory: GUEST_MEMORY },
    maxSteps: opts.maxSteps ?? 20_000_000,
    monitors: (kvm: Kvm) => [(rec = new TraceRecorder(kvm, { maxEvents: opts.maxEvents }))],
  });
  rec!.close();
  return { r, rec: rec! };
}

/** The Perfetto args of each sample event (besides `detail`), in the order a written trace lists them. */
const SAMPLE_ARGS: [string, Record<string, unknown>][] = [
  ["exit hvc", { ec: "HVC64", from: "L1", esr: "0x5a000000", elr: "0x40001004" }],
  ["exit msr", { ec: "SYS64", from: "L1", esr: "0x62310842", elr: "0x40000010" }],
  ["exit mrs", { ec: "SYS64", from: "L2", esr: "0x62300421", elr: "0x40000010" }],
  ["exit msr, unnamed register", { ec: "SYS64", from: "L1", esr: "0x63fffc66", elr: "0x40000010" }],
  ["exit tlbi", { ec: "SYS64", from: "L1", esr: "0x62132020", elr: "0x40000020" }],
  ["exit dabt", { ec: "DABT_LOW", from: "L2", esr: "0x93c08006", elr: "0x40000100", far: "0x40001000", hpfar: "0x400010" }],
  ["exit unknown class", { ec: "0x3f", from: "L2", esr: "0xfe000000", elr: "0x0" }],
  ["shadow-fault", { mmu: 0, nested: "0x40000000", canonical: "0x48000000", PA: "0x1000800000", size: "0x1000", prot: "rwx", level: 3 }],
  ["shadow-fault, stage-2 off", { mmu: 12, nested: "0x40200000", canonical: "0x40200000", PA: "0x200000", size: "0x200000", prot: "r--" }],
  ["canonical-fault", { IPA: "0x48000000", PA: "0x1000800000", size: "0x1000" }],
  ["inject stage-2 fault to L1", { IPA: "0x40001000", FSC: "0x7", ESR: "0x92000007" }],
  ["inject stage-2 fault to L1, walker error", { IPA: "0x40001000", FSC: "0x0", ESR: "0x92000000" }],
  ["inject into vEL2", { esr: "0x92000007", elr: "0x40000100", far: "0x40001000", hpfar: "0x400010", vector: "0x40100400" }],
  ["inject into vEL2, unnamed mode", { esr: "0x2000000", M: "0x3", elr: "0x40000100", vector: "0x40100200" }],
  ["inject into L2 EL1", { esr: "0x2000000", vector: "0x40000200" }],
  ["eret to vEL2", { pc: "0x40000800" }],
  ["eret to vEL2, illegal", { pc: "0x40000800" }],
  ["eret to L2", { pc: "0x40000000", vttbr: "0x3000", mmu: 1, vmid: 2 }],
  ["eret to L2, no MMU", { M: "0x3", pc: "0x40000000", vttbr: "0x3000" }],
  ["recycle reassign", { mmu: 1, vmid: 2 }],
  ["recycle empty", { mmu: 0, emptied: 3 }],
  ["recycle empty, invalidated", { mmu: 2, emptied: 0 }],
  ["unmap canonical", { canonical: "0x48000000", size: "0x1000", canonicalEntriesRemoved: 3, hostPagesFreed: 2 }],
  ["unmap nested full", { mmusEmptied: 2, shadowEntriesRemoved: 5 }],
  ["unmap nested revmap", { mmusVisited: 1, shadowEntriesRemoved: 0 }],
  ["unmap nested accel", { accel: "0x4a100000", size: "0x1000", mmusVisited: 1, shadowEntriesRemoved: 7 }],
  ["unmap nested rfc-rbtree", { "rfc-rbtree": "0x48000000", size: "0x2000", mmuTreesLookedUp: 3, shadowEntriesRemoved: 1 }],
  ["tlbi el2", { VAE2IS: "0x40000" }],
  ["tlbi el20", { VMALLE1IS: "0x0" }],
  ["tlbi stage1", { VAE1IS: "0x1234", VMID: 5 }],
  ["tlbi stage2", { IPAS2E1IS: "0x48000", VMID: 1, shadowEntriesRemoved: 1 }],
  ["tlbi stage2, all VMIDs", { ALLE1IS: "0xffffffffffffffff", shadowEntriesRemoved: 9 }],
  ["mmio write", { size: 1, x2: "0x4c" }],
  ["mmio read", { size: 4, x0: "0x90" }],
  ["psci version", {  }],
  ["psci system off", { code: 0 }],
  ["psci features", { PSCI_FEATURES: "0x84000000" }],
  ["psci unsupported", { function: "0x84000010" }],
  ["psci cpu_on, no such vCPU", { mpidr: "0x7" }],
  ["psci cpu_on, already on", {  }],
  ["psci cpu_on", { entry: "0x40000000", context: "0x1" }],
  ["psci cpu_off", {  }],
  ["coalesce begin bbm", { canonical: "0x4a000000", size: "0x200000" }],
  ["coalesce begin install-first", { canonical: "0x4a000000", size: "0x200000" }],
  ["coalesce fault", { vCPU: 1, canonical: "0x4a000000", size: "0x200000", tick: 5 }],
  ["coalesce done", { canonical: "0x4a000000", size: "0x200000", PA: "0x1000a00000", and: 1, for: 2048, tablePageFreed: 1 }],
  ["coalesce done, aborted", { canonical: "0x4a000000", size: "0x200000", and: 1, for: 48, tablePageFreed: 1 }],
  ["coalesce split", { canonical: "0x4a000000", size: "0x200000", PA: "0x1000a00000" }],
  ["revmap broken", { mmu: 0 }],
  ["revmap polluted", { mmu: 1, polluted: 2, nested: "0x40001000" }],
  ["accel destroyed", {  }],
  ["chaos unmap", { source: "scenario", canonical: "0x4a100000", size: "0x1000" }],
  ["chaos fail-revmap", { source: "inject", next: 1 }],
  ["chaos fail-revmap, several", { source: "debugger", next: 3 }],
  ["chaos recycle, none valid", { source: "chaos" }],
  ["chaos recycle mmu, not valid", { source: "scenario", mmu: 4 }],
  ["chaos recycle, pending", { source: "scenario", mmu: 0 }],
  ["chaos recycle, emptied", { source: "chaos", mmu: 2 }],
  ["chaos tlbi", { source: "inject" }],
  ["chaos split", { source: "scenario", canonical: "0x4a000000", size: "0x200000" }],
  ["chaos coalesce", { source: "scenario", canonical: "0x4a000000", size: "0x200000" }],
  ["chaos delete memslot", { source: "scenario", canonical: "0x4c000000" }],
  ["chaos log dirty", { source: "scenario", canonical: "0x48000000" }],
  ["chaos get dirty log", { source: "inject", canonical: "0x48000000" }],
  ["memslot delete", { slot: "0x4c000000", size: "0x1000000", canonicalEntriesRemoved: 4, hostPagesFreed: 70 }],
  ["memslot log-dirty on", { slot: "0x48000000", size: "0x8000000", canonicalWrprotected: 3, shadowWrprotected: 66, mmus: 1 }],
  ["memslot log-dirty off", { slot: "0x48000000", size: "0x8000000" }],
  ["memslot get-dirty-log", { slot: "0x48000000", size: "0x8000000", dirty: 64, canonicalWrprotected: 0, shadowWrprotected: 130, mmus: 2 }],
  ["relax-perms shadow", { mmu: 0, nested: "0x40100000", canonical: "0x48100000", size: "0x1000", prot: "rwx", dirty: true }],
  ["relax-perms canonical", { canonical: "0x40200000", size: "0x1000", prot: "rwx" }],
  [
    "s2-table-write",
    {
      vCPU: 0, from: "L1", pc: "0x401009e4", va: "0x44002008", canonical: "0x44002008", PA: "0x1000602008", size: 8, level: 3, nested: "0x40001000",
      span: "0x1000", old: "0x0", new: "0x401027ff",
    },
  ],
];

describe("eventArgs", () => {
  const byName = new Map(EVENT_SAMPLES.map((s) => [s.name, s]));

  it.each(SAMPLE_ARGS)("%s", (name, args) => {
    const s = byName.get(name)!;
    // Key order is part of the file: compare entries, not just the object.
    expect(Object.entries(eventArgs(s.data, s.text))).toEqual(Object.entries({ ...args, detail: s.text }));
  });

  it("has args for every sample event", () => {
    expect(SAMPLE_ARGS.map(([n]) => n)).toEqual(EVENT_SAMPLES.map((s) => s.name));
  });

  it("names addresses, counts and permissions as the text does; decimals are numbers, 64-bit values hex strings", () => {
    const fault = EVENT_SAMPLES.find((s) => s.name === "shadow-fault")!;
    expect(eventArgs(fault.data, fault.text)).toEqual({
      mmu: 0, nested: "0x40000000", canonical: "0x48000000", PA: "0x1000800000", size: "0x1000", prot: "rwx", level: 3,
      detail: "mmu0 nested 0x40000000 -> canonical 0x48000000 -> PA 0x1000800000 size 0x1000 prot rwx L1 level 3 exec",
    });
    const accel = EVENT_SAMPLES.find((s) => s.name === "unmap nested accel")!;
    expect(eventArgs(accel.data, accel.text)).toMatchObject({ mmusVisited: 1, shadowEntriesRemoved: 7 });
    expect(eventArgs(accel.data, accel.text)).not.toHaveProperty("visited");
    const recycle = EVENT_SAMPLES.find((s) => s.name === "recycle reassign")!;
    expect(eventArgs(recycle.data, recycle.text)).toEqual({ mmu: 1, vmid: 2, detail: "mmu1 vmid=2 -> vmid=3" });
    const accelGone = EVENT_SAMPLES.find((s) => s.data.kind === "accel")!;
    expect(eventArgs(accelGone.data, accelGone.text)).toEqual({ detail: "every shadow MMU is empty: canonical tree destroyed" });
  });

  it("gives an exit its class number and ISS from the exit the recorder saw, when it is the event's", () => {
    const s = EVENT_SAMPLES.find((x) => x.name === "exit dabt")!;
    if (s.data.kind !== "exit") throw new Error("not an exit");
    const seen = { ec: 0x24, esr: s.data.esr, elr: s.data.elr, far: s.data.far!, hpfar: s.data.hpfar!, spsr: 0n };
    expect(Object.entries(eventArgs(s.data, s.text, seen))).toEqual(Object.entries({
      ec: "DABT_LOW", from: "L2", ecValue: "0x24", esr: "0x93c08006", iss: "0x1c08006", elr: "0x40000100", far: "0x40001000", hpfar: "0x400010", detail: s.text,
    }));
    // Another vCPU's exit (another syndrome): only what the event itself records.
    expect(eventArgs(s.data, s.text, { ...seen, esr: 0x5a000000n })).not.toHaveProperty("iss");
  });

  it("names an exit by its class and puts injections in their own category", () => {
    const dabt = EVENT_SAMPLES.find((s) => s.name === "exit dabt")!.data;
    expect(eventName(dabt)).toBe("exit DABT_LOW");
    expect(eventCategory("exit")).toBe("exit");
    expect(eventCategory("chaos")).toBe("injection");
    expect(eventCategory("shadow-fault")).toBe("l0");
  });
});

describe("TraceRecorder on a real guest run (hyp + touch)", () => {
  let images: PairImages;
  let r: RunVmResult;
  let trace: ChromeTrace;

  beforeAll(async () => {
    images = await assemblePair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    const run = tracedRun(images);
    r = run.r;
    trace = run.rec.toJSON();
  });

  it("is a well-formed trace: fields per phase, time order per track, nested and ended slices", () => {
    expect(r.outcome.kind).toBe("system-off");
    expect(traceProblems(trace)).toEqual([]);
    expect(traceProblems(JSON.parse(JSON.stringify(trace)))).toEqual([]);
    expect(trace.otherData).toMatchObject({ steps: r.steps, truncated: false, vcpus: 1 });
    expect(String(trace.otherData.timeUnit)).toContain("1 guest instruction");
  });

  it("names the process and the vCPU track", () => {
    const meta = trace.traceEvents.filter((e) => e.ph === "M");
    expect(meta).toContainEqual(expect.objectContaining({ name: "process_name", args: { name: "nvlab VM" } }));
    expect(meta).toContainEqual(expect.objectContaining({ name: "thread_name", tid: 1, args: { name: "vCPU 0" } }));
  });

  it("splits the whole run into alternating L1 and L2 slices that start and end at level switches", () => {
    const xs = slices(trace);
    expect(xs[0]).toMatchObject({ name: "L1", ts: 0 });
    let at = 0;
    for (const [i, x] of xs.entries()) {
      expect(x.ts).toBe(at); // no gap: every instruction belongs to one level
      if (i > 0) expect(x.name).not.toBe(xs[i - 1]!.name);
      at = x.ts + x.dur;
    }
    expect(at).toBe(r.steps);
    expect(xs.filter((x) => x.name === "L2").length).toBeGreaterThan(10);
    // L2 slices say where L2 resumed and on which shadow MMU.
    for (const x of xs.filter((s) => s.name === "L2")) expect(x.args).toMatchObject({ level: "L2", pc: expect.stringMatching(/^0x4000/), mmu: 0, vmid: 2 });
  });

  it("has one instant per exit and per L0 action, matching the metrics", () => {
    const is = instants(trace);
    const exits = is.filter((e) => e.cat === "exit");
    const total = Object.values(r.metrics.exits).reduce((a, b) => a + b, 0);
    expect(exits.length).toBe(total);
    expect(exits.filter((e) => e.name === "exit HVC64").length).toBe(r.metrics.exits.HVC64);
    // shadowFaults counts every shadow stage-2 fault; those L1 must handle are injected, not installed.
    expect(is.filter((e) => e.name === "shadow-fault").length).toBe(r.metrics.shadowFaults - r.metrics.faultsInjectedToL1);
    expect(is.filter((e) => e.name === "canonical-fault").length).toBe(r.metrics.canonicalFaults);
    // Level switches happen at exits: every slice boundary carries an exit instant.
    const exitSteps = new Set(exits.map((e) => e.ts));
    for (const x of slices(trace).slice(1)) expect(exitSteps.has(x.ts)).toBe(true);
  });

  it("gives exits their EC name and syndrome, with FAR/HPFAR only for stage-2 aborts", () => {
    const exits = instants(trace).filter((e) => e.cat === "exit");
    const dabt = exits.find((e) => e.name === "exit DABT_LOW" && e.args.from === "L2")!;
    expect(dabt.args).toMatchObject({ ec: "DABT_LOW", ecValue: "0x24", esr: expect.stringMatching(/^0x9/), far: expect.any(String), hpfar: expect.any(String) });
    const hvc = exits.find((e) => e.name === "exit HVC64")!;
    expect(hvc.args).toMatchObject({ ec: "HVC64", ecValue: "0x16", from: "L2", esr: "0x5a000000" });
    expect(hvc.args).not.toHaveProperty("far");
    const sf = instants(trace).find((e) => e.name === "shadow-fault")!;
    expect(sf.cat).toBe("l0");
    expect(sf.args).toMatchObject({ mmu: 0, nested: expect.stringMatching(/^0x4/), canonical: expect.stringMatching(/^0x48/), size: "0x1000" });
  });

  it("counts shadow entries on a counter track that ends at the real count", () => {
    const cs = counters(trace);
    expect(cs[0]).toMatchObject({ ts: 0, args: { entries: 0, validMmus: 0 } });
    const peak = Math.max(...cs.map((c) => c.args.entries!));
    expect(peak).toBeGreaterThan(10);
    const last = cs[cs.length - 1]!;
    const kvm = r.kvm;
    expect(last.args.entries).toBe(kvm.nestedMmus.reduce((n, m) => n + m.pgt.leafCount, 0));
    expect(last.args.validMmus).toBe(kvm.nestedMmus.filter((m) => m.valid).length);
  });

  it("is the same for the same run (timestamps are instruction counts)", () => {
    expect(JSON.stringify(tracedRun(images).rec.toJSON())).toBe(JSON.stringify(trace));
  });

  it("writeTrace writes a file that parses back to the same trace", () => {
    const rec = tracedRun(images).rec;
    const file = join(mkdtempSync(join(tmpdir(), "nvlab-trace-")), "t.json");
    const info = writeTrace(file, rec);
    const text = readFileSync(file, "utf8");
    const trace = rec.toJSON();
    expect(info).toEqual(trace.otherData);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(trace)));
    expect(text.split("\n").length).toBeGreaterThan(trace.traceEvents.length); // one event per line
    // Older Perfetto JSON importers reject \u escapes and raw control characters in strings.
    expect(text).not.toMatch(/\\u[0-9a-fA-F]{4}/);
    expect(text.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe("TraceRecorder limits and partial runs", () => {
  it("stops at maxEvents, ends every slice there and says so", async () => {
    const images = await assemblePair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    const { r, rec } = tracedRun(images, { maxEvents: 200 });
    const t = rec.toJSON();
    expect(rec.truncated).toBe(true);
    const at = rec.truncatedAtStep!;
    expect(at).toBeLessThan(r.steps);
    expect(t.otherData).toMatchObject({ truncated: true, truncatedAtStep: at, steps: at, maxEvents: 200 });
    expect(Number(t.otherData.droppedEvents)).toBeGreaterThan(0);
    expect(traceProblems(t)).toEqual([]);
    expect(t.traceEvents.length).toBeLessThanOrEqual(200 + 1 + 3 + 2); // cap + marker + metadata + the last two slices
    expect(instants(t).find((e) => e.name === "trace cap reached")).toMatchObject({ ts: at, s: "g" });
    const xs = slices(t);
    expect(xs[xs.length - 1]!.ts + xs[xs.length - 1]!.dur).toBe(at);
  });

  it("rejects a cap that is not a positive integer", async () => {
    const kvm = await bootPair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    expect(() => new TraceRecorder(kvm, { maxEvents: 0 })).toThrow(/positive integer/);
  });

  it("gives a well-formed snapshot mid-run (slices end at the current step) and keeps recording", async () => {
    const kvm = await bootPair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    const rec = new TraceRecorder(kvm);
    kvm.monitors.push(rec);
    kvmArchVcpuRun(kvm.vcpus[0]!, 5000);
    const mid = rec.toJSON();
    expect(traceProblems(mid)).toEqual([]);
    expect(mid.otherData.steps).toBe(kvm.steps);
    const xs = slices(mid);
    expect(xs[xs.length - 1]!.ts + xs[xs.length - 1]!.dur).toBe(kvm.steps);
    const r = kvmArchVcpuRun(kvm.vcpus[0]!, 20_000_000);
    expect(r.kind).toBe("system-off");
    rec.close();
    rec.close(); // idempotent
    const end = rec.toJSON();
    expect(traceProblems(end)).toEqual([]);
    expect(end.traceEvents.length).toBeGreaterThan(mid.traceEvents.length);
    // Closed: later events are not recorded.
    const n = rec.eventCount;
    kvm.events.add({ kind: "unmap", scope: "nested", strategy: "full", mmusVisited: 0, removed: 0 });
    expect(rec.eventCount).toBe(n);
  });

  it("ends the slices where a step budget stopped the run", async () => {
    const images = await assemblePair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    const { r, rec } = tracedRun(images, { maxSteps: 4000 });
    expect(r.outcome.kind).toBe("budget");
    const t = rec.toJSON();
    expect(traceProblems(t)).toEqual([]);
    const xs = slices(t);
    expect(xs[xs.length - 1]!.ts + xs[xs.length - 1]!.dur).toBe(r.steps);
  });
});

describe("TraceRecorder in a debug session", () => {
  it("records a stepped, stopped and continued session exactly as the plain run", async () => {
    const images = await assemblePair("guests/l1/hyp.S", ["guests/l2/touch.S"]);
    const plain = tracedRun(images).rec.toJSON();
    let rec: TraceRecorder | null = null;
    const session = await DebugSession.open({
      vm: { l1: images.l1, l2: images.l2, config: { memory: GUEST_MEMORY }, maxSteps: 20_000_000, monitors: (kvm) => [(rec = new TraceRecorder(kvm))] },
    });
    session.stepInstruction(3300); // across the first entries into L2
    session.addExitBreak("HVC64");
    expect((await session.continue()).reason.kind).toBe("exit-break");
    session.deleteBreak();
    expect((await session.continue()).reason.kind).toBe("finished");
    rec!.close();
    const t = rec!.toJSON();
    expect(traceProblems(t)).toEqual([]);
    expect(t).toEqual(plain);
  });
});

describe("TraceRecorder with several vCPUs", () => {
  it("gives each vCPU a named track and puts each event on the vCPU that ran up to it", () => {
    const kvm = new Kvm({ memory: GUEST_MEMORY, vcpus: 2 });
    const rec = new TraceRecorder(kvm);
    const [v0, v1] = kvm.vcpus as [KvmVcpu, KvmVcpu];
    v1.cpu.steps += 10; // vCPU 1 ran
    kvm.events.add({ kind: "mmio", device: "uart", write: true, offset: 0n, size: 1, rt: 0, value: 0x41n });
    v0.cpu.steps += 5; // then vCPU 0
    kvm.events.add({ kind: "mmio", device: "uart", write: true, offset: 0n, size: 1, rt: 0, value: 0x42n });
    kvm.events.add({ kind: "psci", call: "PSCI_VERSION" }); // no instruction since: still vCPU 0
    rec.afterExit(v1); // vCPU 1 handled an exit: L0's next action is its own
    kvm.events.add({ kind: "unmap", scope: "nested", strategy: "full", mmusVisited: 0, removed: 0 });
    rec.close();
    const t = rec.toJSON();
    expect(traceProblems(t)).toEqual([]);
    expect(instants(t).map((e) => [e.name, e.tid, e.ts])).toEqual([
      ["mmio", 2, 10],
      ["mmio", 1, 15],
      ["psci", 1, 15],
      ["unmap", 2, 15],
    ]);
    type Meta = Extract<TraceEvent, { ph: "M" }>;
    const names = t.traceEvents.filter((e): e is Meta => e.ph === "M" && e.name === "thread_name").map((e) => [e.tid, e.args.name]);
    expect(names).toEqual([[1, "vCPU 0"], [2, "vCPU 1"]]);
    // Both vCPUs sit in L1 (never started): one L1 slice each over the whole VM clock.
    expect(slices(t).map((x) => [x.tid, x.name, x.ts, x.dur])).toEqual([[1, "L1", 0, 15], [2, "L1", 0, 15]]);
  });
});

describe("TraceRecorder in scenarios", () => {
  it("shows timeline injections, forced recycles and the counters they move (recycle_pending)", async () => {
    let rec: TraceRecorder | null = null;
    const res = await runScenario(resolve(REPO_ROOT, "scenarios/recycle_pending.yaml"), {
      monitors: (kvm) => [(rec = new TraceRecorder(kvm))],
    });
    expect(res.ok).toBe(true);
    rec!.close();
    const t = rec!.toJSON();
    expect(traceProblems(t)).toEqual([]);
    const inj = instants(t).filter((e) => e.cat === "injection");
    expect(inj.length).toBe(res.injections.length);
    expect(inj.every((e) => e.name === "chaos" && e.args.source === "scenario")).toBe(true);
    expect(inj.some((e) => /recycle/.test(String(e.args.detail)))).toBe(true);
    const unmapInj = inj.find((e) => /unmap canonical/.test(String(e.args.detail)))!;
    expect(unmapInj.args).toMatchObject({ canonical: "0x4a100000", size: "0x10000" });
    expect(instants(t).filter((e) => e.name === "recycle").length).toBeGreaterThan(0);
    // Recycles empty MMUs: the shadow-entry counter goes down as well as up.
    const entries = counters(t).map((c) => c.args.entries!);
    expect(entries.some((v, i) => i > 0 && v < entries[i - 1]!)).toBe(true);
    expect(Math.max(...counters(t).map((c) => c.args.validMmus!))).toBe(2);
  });

  it("keeps the trace of a run the checker stopped (rfc_rbtree_flaw)", async () => {
    let rec: TraceRecorder | null = null;
    const res = await runScenario(resolve(REPO_ROOT, "scenarios/rfc_rbtree_flaw.yaml"), {
      monitors: (kvm) => [(rec = new TraceRecorder(kvm))],
    });
    expect(res.outcome.kind).toBe("monitor-stop");
    rec!.close();
    const t = rec!.toJSON();
    expect(traceProblems(t)).toEqual([]);
    expect(t.otherData.steps).toBe(res.steps);
    const sf = instants(t).find((e) => e.name === "shadow-fault" && e.args.size === "0x200000");
    expect(sf).toBeDefined();
    expect(instants(t).find((e) => e.cat === "injection")!.ts).toBe(sf!.ts);
  });
});
