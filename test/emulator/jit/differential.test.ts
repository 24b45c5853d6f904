// Interpreter vs JIT: random whole-machine programs (diff_gen.ts) run on two CPUs over two copies
// of the same memory, one with engine "interp" and one with engine "jit", in a series of small
// step budgets so that budget boundaries fall inside translated blocks, with debugger breakpoints.
// Every Stop (with the steps retired at it), the whole architectural state and every byte of RAM must agree. The host answers
// exits to EL2 the same way on both sides and resumes with eretFromEl2.
//
// NVLAB_JIT_DIFF_SEED / NVLAB_JIT_DIFF_COUNT override the seed and the number of programs;
// NVLAB_JIT_DIFF_CASE=i runs only program i.

import { beforeAll, describe, expect, it } from "vitest";
import { disassemble, loadDisassembler } from "../../../asm/disassembler.ts";
import { Cpu, type Stop } from "../../../emulator/cpu.ts";
import type { Engine } from "../../../emulator/engine.ts";
import { EC } from "../../../emulator/exception.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { hex } from "../../../emulator/types.ts";
import { CODE, type DiffProgram, generateDiffProgram, loadDiffAssembler, SEGMENT_KINDS } from "./diff_gen.ts";

const SEED = Number(process.env.NVLAB_JIT_DIFF_SEED ?? 0x11d1ff);
const COUNT = Number(process.env.NVLAB_JIT_DIFF_COUNT ?? 10_000);
const ONLY = process.env.NVLAB_JIT_DIFF_CASE === undefined ? null : Number(process.env.NVLAB_JIT_DIFF_CASE);
/** Budgets of successive run() calls, cycled: odd sizes so boundaries land anywhere in a block. */
const BUDGETS = [7, 13, 1, 29, 3, 64, 2, 17, 5, 200];
/** A program that has not reached its final brk after this many steps is compared where it is. */
const STEP_CAP = 20_000;
/** Programs per test: a chunk takes tens of seconds on a loaded 2-core machine, well inside the timeout. */
const CHUNK = 250;

// ------------------------------------------------------------------ one side

/** What the host saw and did, in order. */
type Event = Record<string, string | number>;

interface Side {
  cpu: Cpu;
  mem: PhysMemory;
  events: Event[];
}

function stopRecord(s: Stop, steps: number): Event {
  const out: Event = { kind: s.kind, steps };
  const add = (o: object, prefix = "") => {
    for (const [k, v] of Object.entries(o)) {
      if (k === "kind") continue;
      if (typeof v === "bigint") out[prefix + k] = hex(v);
      else if (typeof v === "number" || typeof v === "string") out[prefix + k] = v;
      else if (v && typeof v === "object") add(v as object, `${prefix}${k}.`);
    }
  };
  add(s);
  return out;
}

function machine(p: DiffProgram, engine: Engine): Side {
  const mem = new PhysMemory();
  for (const [pa, bytes] of p.pages) {
    mem.addRamPage(Number(pa));
    mem.writeBytes(Number(pa), bytes);
  }
  // Short programs would never get hot at the default threshold. Every fourth program translates
  // every entry on first sight (straight-line code too); the rest after three visits (loops, and
  // code entered again after exits and exceptions), which keeps compile time within CI's budget.
  const cpu = new Cpu(mem, { engine, stopOnBrk: true, jit: { hot: p.index % 4 === 0 ? 1 : 3 } });
  cpu.resetTo(CODE);
  for (let i = 0; i <= 30; i++) cpu.setX(i, p.x[i]!);
  cpu.setSP(p.sp);
  cpu.setNzcv(p.nzcv);
  for (let i = 0; i < 32; i++) cpu.setV(i, p.v[i]!);
  cpu.fpcr = p.fpcr;
  for (const r of p.sysregs) cpu.writeSysReg(r.name, r.value);
  for (const b of p.breakpoints) cpu.breakpoints.add(b);
  return { cpu, mem, events: [] };
}

/**
 * The host's side of an exit: an HVC resumes after itself, anything else (a trapped MSR) is
 * skipped; X0 gets the exit's number so the guest sees the host act.
 */
function handleExit(side: Side, ec: number, n: number): void {
  const cpu = side.cpu;
  if (ec !== EC.HVC64) cpu.sr.ELR_EL2 = BigInt.asUintN(64, cpu.sr.ELR_EL2 + 4n);
  cpu.setX(0, BigInt(n));
  cpu.eretFromEl2();
}

/** Run to the final brk (or the cap) in small budgets, recording every Stop. */
function runSide(side: Side): void {
  let exits = 0;
  for (let i = 0; side.cpu.steps < STEP_CAP; i++) {
    let s: Stop;
    try {
      s = side.cpu.run(BUDGETS[i % BUDGETS.length]!);
    } catch (e) {
      side.events.push({ kind: "threw", error: e instanceof Error ? e.message : String(e) });
      return;
    }
    side.events.push(stopRecord(s, side.cpu.steps));
    if (s.kind === "brk") return;
    if (s.kind === "exit") handleExit(side, s.exit.ec, ++exits);
    else if (s.kind !== "budget" && s.kind !== "breakpoint") return;
  }
}

// ------------------------------------------------------------------ comparison

/** The architectural state as named fields (registers, PSTATE, system registers, monitor). */
function archState(cpu: Cpu): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i <= 30; i++) m.set(`x${i}`, hex(cpu.getX(i)));
  m.set("sp", hex(cpu.getSP()));
  m.set("sp_el0", hex(cpu.readSpEl(0)));
  m.set("sp_el1", hex(cpu.readSpEl(1)));
  m.set("pc", hex(cpu.getPC()));
  m.set("nzcv", String(cpu.nzcv()));
  // Whole 128-bit values: hex() keeps only the low 64 bits.
  for (let i = 0; i < 32; i++) m.set(`v${i}`, "0x" + cpu.getV(i).toString(16));
  m.set("fpcr", hex(cpu.fpcr));
  m.set("fpsr", hex(cpu.fpsr));
  m.set("el", String(cpu.el));
  m.set("spsel", String(cpu.spsel));
  m.set("daif", String(cpu.daif));
  m.set("il", String(cpu.il));
  m.set("steps", String(cpu.steps));
  m.set("exclusive", cpu.exclusiveValid ? `${hex(cpu.exclusivePa)}/${cpu.exclusiveSize}` : "none");
  for (const [k, v] of Object.entries(cpu.sr)) if (typeof v === "bigint") m.set(k, hex(v));
  return m;
}

/** Every difference between the two sides, as readable lines (empty: they agree). */
function diffSides(p: DiffProgram, a: Side, b: Side): string[] {
  const out: string[] = [];
  const n = Math.max(a.events.length, b.events.length);
  for (let i = 0; i < n; i++) {
    const ea = JSON.stringify(a.events[i] ?? null);
    const eb = JSON.stringify(b.events[i] ?? null);
    if (ea !== eb) {
      out.push(`stop #${i}: interp ${ea} jit ${eb}`);
      break;
    }
  }
  const sa = archState(a.cpu);
  const sb = archState(b.cpu);
  for (const [k, v] of sa) if (sb.get(k) !== v) out.push(`${k}: interp ${v} jit ${sb.get(k)}`);
  for (const pa of p.pages.keys()) {
    const pgA = a.mem.existingPage(Number(pa));
    const pgB = b.mem.existingPage(Number(pa));
    if (!pgA || !pgB) {
      if (pgA !== pgB) out.push(`page ${hex(pa)}: present on one side only`);
      continue;
    }
    for (let off = 0; off < 0x1000; off++) {
      if (pgA.u8[off] !== pgB.u8[off]) {
        out.push(`mem[${hex(pa + BigInt(off))}]: interp ${hex(pgA.u8[off]!, 2)} jit ${hex(pgB.u8[off]!, 2)}`);
        break;
      }
    }
  }
  return out;
}

/** The program as a listing, for a failure message. */
function listing(p: DiffProgram): string {
  const lines = [`program ${p.index} of seed ${hex(p.seed)}: mmu ${p.mmu ? "on" : "off"}, HCR_EL2 ${hex(p.hcr)}, segments ${p.kinds.join(" ")}`];
  p.code.forEach((w, i) => {
    const at = CODE + BigInt(4 * i);
    lines.push(`  ${hex(at)}: ${hex(w, 8)}  ${disassemble(w, at).text}`);
  });
  return lines.join("\n");
}

/** Both engines on program `p`, with `perturb` applied to the JIT's side before comparing. */
function compareEngines(p: DiffProgram, perturb?: (jit: Side) => void): string[] {
  const interp = machine(p, "interp");
  const jit = machine(p, "jit");
  runSide(interp);
  runSide(jit);
  perturb?.(jit);
  return diffSides(p, interp, jit);
}

// ------------------------------------------------------------------ tests

describe("interpreter vs JIT differential", () => {
  beforeAll(async () => {
    await loadDiffAssembler();
    await loadDisassembler();
  });

  it("the two sides really run under the engines they are named for", () => {
    const p = generateDiffProgram(SEED, 0);
    expect(machine(p, "interp").cpu.engine).toBe("interp");
    expect(machine(p, "jit").cpu.engine).toBe("jit");
  });

  it("reports a difference in a register, a byte of RAM, a system register or the stops (the comparison can fail)", () => {
    const p = generateDiffProgram(SEED, 1);
    expect(compareEngines(p)).toEqual([]);
    expect(compareEngines(p, (s) => s.cpu.setX(5, s.cpu.getX(5) ^ 1n))).toEqual([expect.stringMatching(/^x5: /)]);
    expect(compareEngines(p, (s) => s.cpu.setV(31, s.cpu.getV(31) ^ (1n << 127n)))).toEqual([expect.stringMatching(/^v31: /)]);
    expect(compareEngines(p, (s) => (s.cpu.sr.TTBR0_EL1 ^= 1n << 48n))).toEqual([expect.stringMatching(/^TTBR0_EL1: /)]);
    expect(compareEngines(p, (s) => (s.cpu.fpsr ^= 1))).toEqual([expect.stringMatching(/^fpsr: /)]);
    expect(compareEngines(p, (s) => { s.mem.existingPage(0x201000)!.u8[0xfff]! ^= 0x80; })).toEqual([expect.stringMatching(/^mem\[0x201fff\]: /)]);
    const stops = compareEngines(p, (s) => s.events.splice(1, 1));
    expect(stops[0]).toMatch(/^stop #1: /);
    expect(compareEngines(p, (s) => (s.cpu.steps += 1))).toEqual([expect.stringMatching(/^steps: /)]);
  });

  it("the programs reach what they are meant to exercise: faults, exits, exceptions, every kind of segment", () => {
    const seen = new Set<string>();
    const kinds = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const p = generateDiffProgram(SEED, i);
      for (const k of p.kinds) kinds.add(k);
      const s = machine(p, "interp");
      runSide(s);
      for (const e of s.events) if (e.kind !== "budget") seen.add(e.kind === "exit" ? `exit:${hex(Number(e["exit.ec"]), 2)}` : String(e.kind));
      // Every EL0 excursion came back: the program ends at its brk at EL1.
      if (s.events.at(-1)?.kind === "brk") {
        expect(s.cpu.el, `program ${i}`).toBe(1);
        if (p.kinds.includes("el0")) seen.add("back-from-el0");
      }
      // The last exception the EL1 vector took (its handler returns, so the run goes on).
      if (s.cpu.sr.ESR_EL1 !== 0n) seen.add(`el1:${hex(Number(s.cpu.sr.ESR_EL1 >> 26n), 2)}`);
    }
    expect([...kinds].sort()).toEqual([...SEGMENT_KINDS].sort());
    expect(seen).toContain("brk");
    expect(seen).toContain("back-from-el0");
    expect(seen).toContain("breakpoint");
    expect(seen).toContain("exit:0x16"); // HVC
    expect(seen).toContain("exit:0x18"); // MSR trapped by HCR_EL2.TVM
    expect(seen).toContain("el1:0x15"); // SVC
    expect(seen).toContain("el1:0x21"); // instruction abort
    expect(seen).toContain("el1:0x25"); // data abort
    expect(seen).not.toContain("threw");
  });

  const chunks: [number, number][] = [];
  if (ONLY !== null) chunks.push([ONLY, ONLY + 1]);
  else for (let lo = 0; lo < COUNT; lo += CHUNK) chunks.push([lo, Math.min(COUNT, lo + CHUNK)]);
  it.each(chunks)(`programs %i..%i agree (seed ${hex(SEED)})`, (lo, hi) => {
    for (let i = lo; i < hi; i++) {
      const p = generateDiffProgram(SEED, i);
      const d = compareEngines(p);
      if (d.length > 0) expect.fail(`${listing(p)}\ndiffers (NVLAB_JIT_DIFF_SEED=${SEED} NVLAB_JIT_DIFF_CASE=${i}):\n  ${d.slice(0, 20).join("\n  ")}`);
    }
  });
});
