// Differential test of integer A64 semantics: random straight-line programs (test/oracle/gen.ts)
// run on nvlab's CPU and on unicorn-engine from the same state; registers, flags and the data
// buffer must agree. A mismatching program is replayed one instruction at a time on both CPUs
// to name the first instruction whose effects differ.
//
// NVLAB_DIFF_SEED / NVLAB_DIFF_COUNT override the seed and the number of programs;
// NVLAB_DIFF_CASE=i runs only program i; NVLAB_DIFF_REPORT=path writes every mismatch there.

import { writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Capstone, Const, loadCapstone } from "capstone-wasm";
import { Cpu, type Stop } from "../../emulator/cpu.ts";
import { defaultEngine } from "../../emulator/engine.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { ecOf } from "../../emulator/exception.ts";
import { BRK0, CODE_BASE, DATA_BASE, DATA_SIZE, codeBytes, generateCase, type TestCase } from "../oracle/gen.ts";
import { Unicorn, unicornAvailable, unicornVersion } from "../../lab/oracle/unicorn.ts";
import { keyAt } from "../../emulator/item_at.ts";
import { hex } from "../../emulator/types.ts";

/** nvlab's side runs on the engine the suite runs under (NVLAB_ENGINE: the jit project sets it). */
const ENGINE = defaultEngine();
const SEED = Number(process.env.NVLAB_DIFF_SEED ?? 0x5eed);
const COUNT = Number(process.env.NVLAB_DIFF_COUNT ?? 10_000);
const ONLY = process.env.NVLAB_DIFF_CASE === undefined ? null : Number(process.env.NVLAB_DIFF_CASE);
const DETAILED = 8; // mismatches shown in full in the failure message

const available = unicornAvailable();
if (!available.ok) {
  console.warn(`\n*** differential test SKIPPED: unicorn-engine is unavailable ***\n*** ${available.reason} ***\n`);
}

// ------------------------------------------------------------------ machine state

interface State {
  x: bigint[]; // X0..X30
  sp: bigint;
  nzcv: number;
  pc: bigint;
  data: Uint8Array;
}

const nzcvStr = (f: number) => ["N", "Z", "C", "V"].map((c, i) => ((f >> (3 - i)) & 1 ? c : c.toLowerCase())).join("");

/** Field-by-field differences, as "name: expected (unicorn) vs got (nvlab)". */
function diffStates(expected: State, got: State, withPc: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 30; i++) {
    if (expected.x[i] !== got.x[i]) out.push(`x${i}: expected ${hex(expected.x[i]!)} got ${hex(got.x[i]!)}`);
  }
  if (expected.sp !== got.sp) out.push(`sp: expected ${hex(expected.sp)} got ${hex(got.sp)}`);
  if (expected.nzcv !== got.nzcv) out.push(`nzcv: expected ${nzcvStr(expected.nzcv)} got ${nzcvStr(got.nzcv)}`);
  if (withPc && expected.pc !== got.pc) out.push(`pc: expected ${hex(expected.pc)} got ${hex(got.pc)}`);
  const dv = new DataView(expected.data.buffer);
  const gv = new DataView(got.data.buffer);
  for (let off = 0; off < DATA_SIZE; off += 8) {
    const e = dv.getBigUint64(off, true);
    const g = gv.getBigUint64(off, true);
    if (e !== g) out.push(`mem[${hex(DATA_BASE + BigInt(off))}]: expected ${hex(e)} got ${hex(g)}`);
  }
  return out;
}

function formatRegs(x: readonly bigint[], sp: bigint, nzcv: number): string {
  const cells = x.map((v, i) => `x${i}=${hex(v)}`);
  cells.push(`sp=${hex(sp)}`, `nzcv=${nzcvStr(nzcv)}`);
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 4) lines.push("    " + cells.slice(i, i + 4).join(" "));
  return lines.join("\n");
}

// ------------------------------------------------------------------ the two machines

class NvlabSide {
  readonly mem = new PhysMemory({ autoAllocate: true });
  readonly cpu = new Cpu(this.mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, engine: ENGINE });
  readonly dataPage = this.mem.page(Number(DATA_BASE))!;

  load(tc: TestCase): void {
    this.mem.writeBytes(Number(CODE_BASE), codeBytes(tc.words));
    this.mem.writeBytes(Number(DATA_BASE), tc.data);
    this.cpu.resetTo(CODE_BASE);
    for (let i = 0; i <= 30; i++) this.cpu.setX(i, tc.x[i]!);
    this.cpu.setSP(tc.sp);
    this.cpu.setNzcv(tc.nzcv);
  }

  /** Run; a JavaScript error thrown by a handler is reported as a stop, not a test crash. */
  run(maxSteps: number): Stop | { kind: "threw"; error: string } {
    try {
      return this.cpu.run(maxSteps);
    } catch (e) {
      return { kind: "threw", error: e instanceof Error ? (e.stack ?? e.message).split("\n").slice(0, 3).join(" | ") : String(e) };
    }
  }

  state(): State {
    const x: bigint[] = [];
    for (let i = 0; i <= 30; i++) x.push(this.cpu.getX(i));
    return { x, sp: this.cpu.getSP(), nzcv: this.cpu.nzcv(), pc: this.cpu.getPC(), data: this.dataPage.u8.slice() };
  }
}

class UnicornSide {
  readonly uc = new Unicorn();

  constructor() {
    this.uc.memMap(CODE_BASE, 0x10000);
    this.uc.memMap(DATA_BASE, DATA_SIZE);
  }

  load(tc: TestCase): void {
    this.uc.writeCode(CODE_BASE, codeBytes(tc.words));
    this.uc.memWrite(DATA_BASE, tc.data);
    for (let i = 0; i <= 30; i++) this.uc.setX(i, tc.x[i]!);
    this.uc.setSP(tc.sp);
    this.uc.setNzcv(tc.nzcv);
    this.uc.setPC(CODE_BASE);
  }

  /** Run to the final brk (or `count` instructions); returns the uc_err code. */
  run(tc: TestCase, count = 0): number {
    const until = count ? 0n : CODE_BASE + BigInt(4 * tc.words.length);
    return this.uc.emuStart(this.uc.getPC(), until, count);
  }

  state(): State {
    const x: bigint[] = [];
    for (let i = 0; i <= 30; i++) x.push(this.uc.getX(i));
    return { x, sp: this.uc.getSP(), nzcv: this.uc.nzcv(), pc: this.uc.getPC(), data: this.uc.memRead(DATA_BASE, DATA_SIZE) };
  }

  close(): void {
    this.uc.close();
  }
}

// ------------------------------------------------------------------ disassembly

let cs: Capstone | null = null;

function disasm(word: number, address: bigint): string {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, word, true);
  try {
    const [insn] = cs!.disasm(bytes, { address });
    return `${insn!.mnemonic} ${insn!.opStr}`.trim();
  } catch {
    return `.word 0x${word.toString(16).padStart(8, "0")}`;
  }
}

function listing(words: readonly number[], mark = -1): string {
  return words
    .map((wd, i) => {
      const addr = CODE_BASE + BigInt(4 * i);
      const m = i === mark ? "=>" : "  ";
      return `  ${m} ${hex(addr)}: ${wd.toString(16).padStart(8, "0")}  ${disasm(wd, addr)}`;
    })
    .join("\n");
}

function stopStr(stop: Stop | { kind: "threw"; error: string }): string {
  if (stop.kind === "threw") return `a JavaScript error: ${stop.error}`;
  if (stop.kind === "el1-exception") return `exception to EL1 (EC=0x${ecOf(stop.esr).toString(16)}, ESR=${hex(stop.esr)}, ELR=${hex(stop.elr)})`;
  if (stop.kind === "brk") return `brk at ${hex(stop.pc)}`;
  return stop.kind;
}

// ------------------------------------------------------------------ one program

interface Mismatch {
  tc: TestCase;
  /** Index of the first diverging instruction (-1 if the step-by-step replay did not find one). */
  culprit: number;
  /** Word and disassembly of the culprit. */
  culpritText: string;
  report: string;
}

/** Replay one instruction at a time; name the first instruction after which the states differ. */
function locate(tc: TestCase, nv: NvlabSide, uc: UnicornSide): { index: number; text: string } {
  nv.load(tc);
  uc.load(tc);
  for (let step = 0; step < tc.words.length + 1; step++) {
    const pc = uc.uc.getPC();
    const index = Number(pc - CODE_BASE) / 4;
    if (index >= tc.words.length) break;
    const before = uc.state();
    const err = uc.run(tc, 1);
    const stop = nv.run(1);
    const e = uc.state();
    const g = nv.state();
    const diffs = diffStates(e, g, true);
    const ucErr = err !== 0 ? `unicorn: ${uc.uc.strerror(err)}` : "";
    const nvErr = stop.kind !== "budget" ? `nvlab: ${stopStr(stop)}` : "";
    if (diffs.length || ucErr || nvErr) {
      const wd = tc.words[index]!;
      const lines = [
        `first divergence at instruction ${index} (${hex(pc)}): ${wd.toString(16).padStart(8, "0")}  ${disasm(wd, pc)}`,
        ...(ucErr ? ["  " + ucErr] : []),
        ...(nvErr ? ["  " + nvErr] : []),
        "  state before it:",
        formatRegs(before.x, before.sp, before.nzcv),
        "  differences after it (expected = unicorn, got = nvlab):",
        ...diffs.map((d) => "    " + d),
      ];
      return { index, text: lines.join("\n") };
    }
  }
  const end = nv.run(1);
  if (end.kind !== "brk") {
    const pc = CODE_BASE + BigInt(4 * tc.words.length);
    return { index: tc.words.length, text: `every instruction agrees; the final ${hex(pc)}: brk #0 gave nvlab: ${stopStr(end)}` };
  }
  return { index: -1, text: "step-by-step replay found no divergence (the difference depends on running the whole block)" };
}

function check(tc: TestCase, nv: NvlabSide, uc: UnicornSide): Mismatch | null {
  nv.load(tc);
  uc.load(tc);
  const stop = nv.run(tc.words.length + 8);
  const err = uc.run(tc);
  const end = CODE_BASE + BigInt(4 * tc.words.length);
  const problems: string[] = [];
  if (err !== 0) problems.push(`unicorn stopped with ${uc.uc.strerror(err)} at ${hex(uc.uc.getPC())}`);
  if (stop.kind !== "brk" || stop.pc !== end) problems.push(`nvlab stopped with ${stopStr(stop)} (expected brk at ${hex(end)})`);
  problems.push(...diffStates(uc.state(), nv.state(), false));
  if (problems.length === 0) return null;

  const where = locate(tc, nv, uc);
  const culpritWord = where.index === tc.words.length ? BRK0 : tc.words[where.index];
  const culpritText =
    culpritWord === undefined ? "(whole program)" : `${culpritWord.toString(16).padStart(8, "0")}  ${disasm(culpritWord, CODE_BASE + BigInt(4 * where.index))}`;
  const report = [
    `program seed=${tc.seed} index=${tc.index} (rerun: NVLAB_DIFF_SEED=${tc.seed} NVLAB_DIFF_CASE=${tc.index})`,
    listing(tc.words, where.index),
    `  initial state:`,
    formatRegs(tc.x, tc.sp, tc.nzcv),
    `  end-state differences (expected = unicorn, got = nvlab):`,
    ...problems.map((p) => "    " + p),
    "  " + where.text.split("\n").join("\n  "),
  ].join("\n");
  return { tc, culprit: where.index, culpritText, report };
}

function summarize(mismatches: Mismatch[], total: number): string {
  const byMnemonic = new Map<string, { count: number; example: string }>();
  for (const m of mismatches) {
    const key = m.culprit >= 0 ? m.culpritText.split(/\s+/)[1]! : "(unlocated)";
    const e = byMnemonic.get(key);
    if (e) e.count++;
    else byMnemonic.set(key, { count: 1, example: m.culpritText });
  }
  const rows = [...byMnemonic.entries()].sort((a, b) => b[1].count - a[1].count);
  return [
    `${mismatches.length} of ${total} programs differ from unicorn. First diverging instruction, by mnemonic:`,
    ...rows.map(([k, v]) => `  ${String(v.count).padStart(6)}  ${k.padEnd(8)} e.g. ${v.example}`),
  ].join("\n");
}

// ------------------------------------------------------------------ the test

describe(`differential: nvlab CPU vs unicorn-engine (${ENGINE} engine)`, () => {
  beforeAll(async () => {
    await loadCapstone();
    cs = new Capstone(keyAt(Const, "CS_ARCH_ARM64", "capstone"), keyAt(Const, "CS_MODE_ARM", "capstone"));
  });

  it("runs nvlab's side on the suite's engine", () => {
    expect(new NvlabSide().cpu.engine).toBe(ENGINE);
  });

  it.skipIf(!available.ok)(`${ONLY === null ? COUNT : 1} random integer programs agree (seed ${SEED})`, () => {
    console.info(`differential: unicorn ${unicornVersion()}, seed ${SEED}, ${ONLY === null ? COUNT : `case ${ONLY}`}`);
    const nv = new NvlabSide();
    const uc = new UnicornSide();
    const mismatches: Mismatch[] = [];
    const indexes = ONLY === null ? Array.from({ length: COUNT }, (_, i) => i) : [ONLY];
    try {
      for (const i of indexes) {
        const m = check(generateCase(SEED, i), nv, uc);
        if (m) mismatches.push(m);
      }
    } finally {
      uc.close();
    }
    if (mismatches.length === 0) return;
    const summary = summarize(mismatches, indexes.length);
    if (process.env.NVLAB_DIFF_REPORT) {
      writeFileSync(process.env.NVLAB_DIFF_REPORT, summary + "\n\n" + mismatches.map((m) => m.report).join("\n\n") + "\n");
    }
    const shown = mismatches.slice(0, DETAILED).map((m) => m.report);
    expect.fail(`${summary}\n\nFirst ${shown.length} in detail:\n\n${shown.join("\n\n")}`);
  });
});
