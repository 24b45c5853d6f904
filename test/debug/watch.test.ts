// Watchpoints: a write, read or access to memory named in any of the debugger's spaces stops the
// run once the access is done, whoever made it (L2, L1, L0's own walks), on either engine and any
// vCPU, and reverse-continue finds the previous hit.

import { describe, expect, it } from "vitest";
import { chaosMonitor } from "../../lab/chaos.ts";
import { runVm } from "../../lab/run.ts";
import { prepareScenario } from "../../lab/scenario/run.ts";
import { DebugSession, describeStop, type Stop } from "../../debug/session.ts";
import { walkL1Stage2 } from "../../debug/memory.ts";
import { HYP, l2, openPair, pairOptions } from "./session_fixture.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";

const TOUCH_OFFSET = 0x100000n;

/** The touch L2 stopped at its start (its first touch page not mapped by L1 yet). */
async function atTouchStart(): Promise<{ s: DebugSession; page: bigint }> {
  const s = await openPair(HYP, [l2("touch")]);
  s.addAddressBreak("touch.S:touch_start");
  expect((await s.continue()).reason.kind).toBe("breakpoint");
  s.deleteBreak();
  return { s, page: s.symbols.resolve("touch.S:l2_entry").symbol.address + TOUCH_OFFSET };
}

function watchHit(st: Stop) {
  if (st.reason.kind !== "watchpoint") throw new Error(`expected a watchpoint stop, got ${st.reason.kind}`);
  return st.reason.hit;
}

// The suite runs under both engines (vitest's interp and jit projects).
describe("watchpoints", () => {
  it("a write watch on an L2 variable stops after the store, with old and new values", async () => {
    const { s, page } = await atTouchStart();
    const w = s.addWatch({ space: "va", addr: page, len: 8, access: "w" });
    expect(w.label).toBe("w L2 VA 0x40100000 (8 bytes) = canonical IPA 0x48100000");
    const st = await s.continue();
    const hit = watchHit(st);
    expect(hit).toMatchObject({ write: true, by: "L2", vcpu: 0, va: page, space: "va", addr: page, size: 8, old: 0n, new: 0x5555_5555n, what: null });
    expect(hit.insn).toBe("str x3, [x22]");
    // The store has completed: the PC is past it and memory holds the new value.
    expect(s.registers().pc).toBe(hit.pc! + 4n);
    expect(s.readMemory("va", page, 8)).toEqual(new Uint8Array([0x55, 0x55, 0x55, 0x55, 0, 0, 0, 0]));
    expect(describeStop(s, st)).toBe(
      `watchpoint ${w.id} (${w.label}): write of 8 bytes at L2 VA 0x40100000 by L2 on vCPU 0 at PC ${"0x" + hit.pc!.toString(16)}  str x3, [x22]; old 0x0 -> new 0x55555555`,
    );
    expect(s.watchpoints()[0]!.hits).toBe(1);
    // The watch covers [page, page+8) only: the store to the page's last word does not stop.
    const next = await s.continue();
    expect(next.reason.kind).toBe("finished");
  });

  it("a read watch stops at the load; reverse-continue goes back to the previous write hit", async () => {
    const { s, page } = await atTouchStart();
    s.addWatch({ space: "va", addr: page + 4n, len: 2, access: "r" });
    const read = watchHit(await s.continue());
    expect(read).toMatchObject({ write: false, by: "L2", va: page, addr: page + 4n, size: 8, old: 0x5555_5555n, new: 0x5555_5555n });
    expect(read.insn).toBe("ldr x5, [x22]");
    const at = s.kvm.steps;
    s.addWatch({ space: "ipa", addr: 0x4810_0000n, len: 8, access: "rw" });
    const back = s.reverseContinue();
    const hit = watchHit(back);
    expect(back.time).toBeLessThan(at);
    expect(hit).toMatchObject({ write: true, by: "L2", space: "ipa", addr: 0x4810_0000n, va: page, old: 0n, new: 0x5555_5555n });
    expect(s.readMemory("ipa", 0x4810_0000n, 4)).toEqual(new Uint8Array([0x55, 0x55, 0x55, 0x55]));
  });

  it("a watch by canonical IPA on an L1 stage-2 descriptor: L0's walk finds it empty, L1 stores it, L0 walks it again", async () => {
    const { s, page } = await atTouchStart();
    // The leaf table that maps L2's image maps the first touch page too (same 2M region).
    const mapped = walkL1Stage2(s.vcpu, s.symbols.resolve("touch.S:l2_entry").symbol.address);
    const leaf = mapped.steps.at(-1)!;
    const desc = leaf.table + ((page >> 12n) & 0x1ffn) * 8n;
    s.addWatch({ space: "ipa", addr: desc, len: 8, access: "rw" });
    const empty = watchHit(await s.continue());
    expect(empty).toMatchObject({ write: false, by: "L0", space: "ipa", addr: desc, old: 0n, va: null });
    expect(empty.what).toBe("walk of L1's stage-2 for L2's stage-2 abort at nested IPA 0x40100000");
    // L0 injected the fault into L1, whose handler now writes the descriptor.
    const wrote = watchHit(await s.continue());
    expect(wrote).toMatchObject({ write: true, by: "L1", space: "ipa", addr: desc, size: 8, old: 0n });
    expect(wrote.new & ~0xfffn & 0xffff_ffff_f000n).toBe(0x4810_0000n);
    expect(wrote.insn).toMatch(/^str /);
    const walked = watchHit(await s.continue());
    expect(walked).toMatchObject({ write: false, by: "L0", space: "ipa", addr: desc, old: wrote.new, va: null });
    expect(walked.what).toBe("walk of L1's stage-2 for L2's stage-2 abort at nested IPA 0x40100000");
    // L0 stopped before re-entering L2: the faulting store is next.
    expect(s.vcpu.level).toBe("L2");
    expect(s.location()!.insn).toBe("str x3, [x22]");
  });
});

describe("watchpoints: other spaces, vCPUs, scenarios, chaos", () => {
  it("a nested IPA watch resolves through L1's stage-2 (or the guest ABI's window before L1 maps it)", async () => {
    const { s, page } = await atTouchStart();
    const w = s.addWatch({ space: "nipa", addr: page + 0x1000n, len: 4, access: "w" });
    expect(w.label).toBe("w nested IPA 0x40101000 (4 bytes) = canonical IPA 0x48101000");
    const hit = watchHit(await s.continue());
    expect(hit).toMatchObject({ by: "L2", space: "nipa", addr: page + 0x1000n, va: page + 0x1000n, new: 0x1_5555_5554n });
  });

  it("a host PA watch catches L2 touching a page through a stale shadow mapping after the host took it back", async () => {
    // The checker off: the stale mapping is used rather than reported.
    const p = await prepareScenario("scenarios/rfc_rbtree_flaw.yaml");
    const s = await DebugSession.open({ vm: { ...p.vm, check: false } });
    s.addEventBreak("shadow-fault size=0x200000");
    const fault = await s.continue();
    const data = fault.reason.kind === "event-break" ? fault.reason.event.data : null;
    if (data?.kind !== "shadow-fault") throw new Error(describeStop(s, fault));
    s.deleteBreak();
    // The 2M leaf's host block; the timeline takes back the 4K page 1M into it.
    const pa = data.pa + 0x10_0000n;
    s.addWatch({ space: "pa", addr: pa, len: 8, access: "rw" });
    const hit = watchHit(await s.continue());
    expect(s.kvm.metrics.snapshot().canonicalUnmaps).toBe(1);
    expect(s.kvm.memslots.find((m) => m.contains(0x4810_0000n))!.hostPa(0x4810_0000n)).toBeNull();
    expect(hit).toMatchObject({ write: true, by: "L2", space: "pa", addr: pa, va: 0x4010_0000n });
    expect(hit.insn).toBe("str x3, [x22]");
  });

  it("several vCPUs: each hit names the vCPU that made the access", async () => {
    const pair = GUEST_PAIRS.find((g) => g.name === "smp_shared+4")!;
    const s = await DebugSession.open({ vm: await pairOptions(pair.l1, pair.l2, { vcpus: 4 }) });
    // vCPU n fills its own slice, 1M + n * 256K into the shared window (guests/l2/smp_slices.S).
    const slice = (n: number): bigint => 0x4810_0000n + BigInt(n) * 0x4_0000n;
    const ids = [0, 1, 2, 3].map((n) => s.addWatch({ space: "ipa", addr: slice(n), len: 8, access: "w" }).id);
    const seen = new Set<number>();
    for (let st = await s.continue(); st.reason.kind !== "finished"; st = await s.continue()) {
      const hit = watchHit(st);
      expect(s.vcpu.index).toBe(hit.vcpu);
      expect(hit.addr).toBe(slice(hit.vcpu));
      expect(st.reason.kind === "watchpoint" && st.reason.id).toBe(ids[hit.vcpu]);
      expect(st.location!.text).toMatch(new RegExp(`^vCPU ${hit.vcpu} L2 `));
      seen.add(hit.vcpu);
    }
    expect(s.finished).toEqual({ kind: "system-off", code: 0 });
    expect(s.kvm.console).toBe(pair.expected);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it("watches change nothing in the run: with chaos, it ends exactly as the plain run", async () => {
    const opts = await pairOptions(HYP, [l2("touch")], { check: true, unmap: "revmap" });
    const withChaos = { ...opts, monitors: (kvm: Parameters<typeof chaosMonitor>[0]) => [chaosMonitor(kvm, { seed: 7, rate: 5 })] };
    const plain = runVm(withChaos);
    const s = await DebugSession.open({ vm: withChaos });
    s.addWatch({ space: "ipa", addr: 0x4810_0000n, len: 0x4000, access: "rw" });
    let hits = 0;
    let st: Stop;
    do {
      st = await s.continue();
      if (st.reason.kind === "watchpoint") hits++;
    } while (st.reason.kind !== "finished");
    expect(hits).toBeGreaterThanOrEqual(8);
    expect(st.reason.outcome).toEqual(plain.outcome);
    expect(s.kvm.console).toBe(plain.console);
    expect(s.kvm.steps).toBe(plain.steps);
    expect(s.kvm.metrics.snapshot()).toEqual(plain.metrics);
  });

  it("refuses what it cannot watch, and deletes by id", async () => {
    const { s, page } = await atTouchStart();
    expect(() => s.addWatch({ space: "va", addr: page, len: 0, access: "w" })).toThrow(/length must be 1\.\./);
    expect(() => s.addWatch({ space: "pa", addr: 0x7_0000_0000n, len: 8, access: "w" })).toThrow(/no host page at host PA 0x700000000/);
    expect(() => s.addWatch({ space: "ipa", addr: 0x1000n, len: 8, access: "w" })).toThrow(/canonical IPA 0x1000 is not L1 RAM/);
    expect(() => s.addWatch({ space: "va", addr: page, len: 8, access: "x" as never })).toThrow(/access must be r, w or rw/);
    const w = s.addWatch({ space: "va", addr: page, len: 8, access: "w" });
    expect(() => s.deleteWatch(w.id + 1)).toThrow(/no watchpoint/);
    s.deleteBreak(w.id);
    expect(s.watchpoints()).toEqual([]);
    expect((await s.continue()).reason.kind).toBe("finished");
  });
});
