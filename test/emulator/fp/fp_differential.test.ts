// Differential test of the SIMD&FP instructions: seeded random programs (fp_gen.ts) run on nvlab's
// CPU and on unicorn-engine from the same state, with a random FPCR (all four rounding modes, FZ,
// DN); V0-V31, X0-X30, NZCV, FPCR, FPSR and the data buffer must agree bit for bit. Every row of
// the SIMD&FP decode table also gets its own programs that start with it.
//
// NVLAB_FP_DIFF_SEED / NVLAB_FP_DIFF_COUNT override the seed and the number of mixed programs.
// Under CI=true a missing unicorn fails the test instead of skipping it.

import * as koffi from "koffi";
import { beforeAll, describe, expect, it } from "vitest";
import { Capstone, Const, loadCapstone } from "capstone-wasm";
import { Cpu, type Stop } from "../../../emulator/cpu.ts";
import { defaultEngine } from "../../../emulator/engine.ts";
import { PhysMemory } from "../../../emulator/memory.ts";
import { keyAt } from "../../../emulator/item_at.ts";
import { hex } from "../../../emulator/types.ts";
import { Unicorn, libraryCandidates, unicornAvailable } from "../../../lab/oracle/unicorn.ts";
import { CODE_BASE, DATA_BASE, DATA_SIZE, FP_ROW_NAMES, type FpCase, fpCodeBytes, generateFpCase } from "./fp_gen.ts";

/** nvlab's side runs on the engine the suite runs under (NVLAB_ENGINE: the jit project sets it). */
const ENGINE = defaultEngine();
const SEED = Number(process.env.NVLAB_FP_DIFF_SEED ?? 0xf10a7);
const COUNT = Number(process.env.NVLAB_FP_DIFF_COUNT ?? 6000);
const PER_ROW = 40;

const available = unicornAvailable();
if (!available.ok) {
  if (process.env.CI === "true") throw new Error(`unicorn-engine is required under CI: ${available.reason}`);
  console.warn(`\n*** SIMD&FP differential test SKIPPED: ${available.reason} ***\n`);
}

/** unicorn 2.0.x register ids beyond the integer ones lab/oracle/unicorn.ts names. */
const UC_Q0 = 104;
const UC_FPCR = 291;
const UC_FPSR = 292;

interface State {
  x: bigint[];
  v: bigint[];
  nzcv: number;
  fpcr: number;
  fpsr: number;
  data: Uint8Array;
}

/** 128-bit and FP status register access: uc_reg_read/write with a 16-byte buffer. */
class UnicornFp {
  readonly uc = new Unicorn();
  private readonly read: (h: unknown, id: number, out: Uint8Array) => number;
  private readonly write: (h: unknown, id: number, v: Uint8Array) => number;
  private readonly buf = new Uint8Array(16);

  constructor() {
    const lib = koffi.load(libraryCandidates()[0]!);
    this.read = lib.func("int uc_reg_read(void *uc, int regid, _Out_ void *value)") as typeof this.read;
    this.write = lib.func("int uc_reg_write(void *uc, int regid, const void *value)") as typeof this.write;
    this.uc.memMap(CODE_BASE, 0x10000);
    this.uc.memMap(DATA_BASE, DATA_SIZE);
  }

  private get handle(): unknown {
    return (this.uc as unknown as { handle: unknown }).handle;
  }

  setWide(id: number, v: bigint): void {
    const dv = new DataView(this.buf.buffer);
    dv.setBigUint64(0, v & ((1n << 64n) - 1n), true);
    dv.setBigUint64(8, (v >> 64n) & ((1n << 64n) - 1n), true);
    if (this.write(this.handle, id, this.buf) !== 0) throw new Error(`uc_reg_write(${id})`);
  }

  getWide(id: number): bigint {
    this.buf.fill(0);
    if (this.read(this.handle, id, this.buf) !== 0) throw new Error(`uc_reg_read(${id})`);
    const dv = new DataView(this.buf.buffer);
    return (dv.getBigUint64(8, true) << 64n) | dv.getBigUint64(0, true);
  }

  load(tc: FpCase): void {
    this.uc.writeCode(CODE_BASE, fpCodeBytes(tc.words));
    this.uc.memWrite(DATA_BASE, tc.data);
    for (let i = 0; i <= 30; i++) this.uc.setX(i, tc.x[i]!);
    for (let i = 0; i < 32; i++) this.setWide(UC_Q0 + i, tc.v[i]!);
    this.setWide(UC_FPCR, BigInt(tc.fpcr));
    this.setWide(UC_FPSR, 0n);
    this.uc.setNzcv(tc.nzcv);
    this.uc.setPC(CODE_BASE);
  }

  run(tc: FpCase): number {
    return this.uc.emuStart(CODE_BASE, CODE_BASE + BigInt(4 * tc.words.length));
  }

  state(): State {
    const x: bigint[] = [];
    for (let i = 0; i <= 30; i++) x.push(this.uc.getX(i));
    const v: bigint[] = [];
    for (let i = 0; i < 32; i++) v.push(this.getWide(UC_Q0 + i));
    return {
      x, v, nzcv: this.uc.nzcv(),
      fpcr: Number(this.getWide(UC_FPCR)), fpsr: Number(this.getWide(UC_FPSR)),
      data: this.uc.memRead(DATA_BASE, DATA_SIZE),
    };
  }
}

class NvlabFp {
  readonly mem = new PhysMemory({ autoAllocate: true });
  readonly cpu = new Cpu(this.mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, engine: ENGINE });

  load(tc: FpCase): void {
    this.mem.writeBytes(Number(CODE_BASE), fpCodeBytes(tc.words));
    this.mem.writeBytes(Number(DATA_BASE), tc.data);
    this.cpu.resetTo(CODE_BASE);
    this.cpu.writeSysReg("CPACR_EL1", 3n << 20n);
    for (let i = 0; i <= 30; i++) this.cpu.setX(i, tc.x[i]!);
    for (let i = 0; i < 32; i++) this.cpu.setV(i, tc.v[i]!);
    this.cpu.fpcr = tc.fpcr;
    this.cpu.fpsr = 0;
    this.cpu.setNzcv(tc.nzcv);
  }

  run(tc: FpCase): Stop | { kind: "threw"; error: string } {
    try {
      return this.cpu.run(tc.words.length + 4);
    } catch (e) {
      return { kind: "threw", error: e instanceof Error ? (e.stack ?? e.message).split("\n").slice(0, 4).join(" | ") : String(e) };
    }
  }

  state(): State {
    const x: bigint[] = [];
    for (let i = 0; i <= 30; i++) x.push(this.cpu.getX(i));
    const v: bigint[] = [];
    for (let i = 0; i < 32; i++) v.push(this.cpu.getV(i));
    const data = new Uint8Array(DATA_SIZE);
    for (let off = 0; off < DATA_SIZE; off += 4096) data.set(this.mem.page(Number(DATA_BASE) + off)!.u8, off);
    return { x, v, nzcv: this.cpu.nzcv(), fpcr: this.cpu.fpcr, fpsr: this.cpu.fpsr, data };
  }
}

function diff(e: State, g: State): string[] {
  const out: string[] = [];
  e.x.forEach((val, i) => val !== g.x[i] && out.push(`x${i}: expected ${hex(val)} got ${hex(g.x[i]!)}`));
  e.v.forEach((val, i) => val !== g.v[i] && out.push(`v${i}: expected ${val.toString(16).padStart(32, "0")} got ${g.v[i]!.toString(16).padStart(32, "0")}`));
  if (e.nzcv !== g.nzcv) out.push(`nzcv: expected ${e.nzcv.toString(2).padStart(4, "0")} got ${g.nzcv.toString(2).padStart(4, "0")}`);
  if (e.fpcr !== g.fpcr) out.push(`fpcr: expected ${hex(e.fpcr)} got ${hex(g.fpcr)}`);
  if (e.fpsr !== g.fpsr) out.push(`fpsr: expected ${hex(e.fpsr)} got ${hex(g.fpsr)}`);
  for (let off = 0; off < DATA_SIZE; off++) {
    if (e.data[off] !== g.data[off]) {
      out.push(`mem[${hex(DATA_BASE + BigInt(off))}]: expected ${e.data[off]!.toString(16)} got ${g.data[off]!.toString(16)}`);
      break;
    }
  }
  return out;
}

let cs: Capstone | null = null;

function disasm(word: number): string {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, word, true);
  try {
    const [insn] = cs!.disasm(bytes, { address: 0n });
    return `${insn!.mnemonic} ${insn!.opStr}`.trim();
  } catch {
    return ".word";
  }
}

/** What differs between the two CPUs after running `tc` from the same state (empty: nothing). */
function problemsOf(tc: FpCase, nv: NvlabFp, uc: UnicornFp): string[] {
  nv.load(tc);
  uc.load(tc);
  const stop = nv.run(tc);
  const err = uc.run(tc);
  const end = CODE_BASE + BigInt(4 * tc.words.length);
  const problems: string[] = [];
  if (err !== 0) problems.push(`unicorn: ${uc.uc.strerror(err)} at ${hex(uc.uc.getPC())}`);
  if (stop.kind !== "brk" || stop.pc !== end) problems.push(`nvlab stopped: ${JSON.stringify(stop, (_k, v) => (typeof v === "bigint" ? hex(v) : v))}`);
  problems.push(...diff(uc.state(), nv.state()));
  return problems;
}

function check(tc: FpCase, nv: NvlabFp, uc: UnicornFp): string | null {
  const problems = problemsOf(tc, nv, uc);
  if (problems.length === 0) return null;
  // The shortest prefix of the program that already differs names the first differing instruction.
  let first = tc.words.length - 1;
  for (let k = 1; k < tc.words.length; k++) {
    if (problemsOf({ ...tc, words: tc.words.slice(0, k) }, nv, uc).length > 0) {
      first = k - 1;
      break;
    }
  }
  return [
    `seed=${tc.seed} index=${tc.index} fpcr=${hex(tc.fpcr)} nzcv=${tc.nzcv.toString(2)}`,
    ...tc.words.map((w, i) => `  ${i}: ${w.toString(16).padStart(8, "0")}  ${disasm(w)}${i === first ? "   <- first differing instruction" : ""}`),
    ...tc.v.slice(0, 8).map((val, i) => `  v${i} = ${val.toString(16).padStart(32, "0")}`),
    ...problems.map((p) => "    " + p),
  ].join("\n");
}

describe.skipIf(!available.ok)(`SIMD&FP differential: nvlab CPU vs unicorn-engine (${ENGINE} engine)`, () => {
  let nv: NvlabFp;
  let uc: UnicornFp;
  beforeAll(async () => {
    await loadCapstone();
    cs = new Capstone(keyAt(Const, "CS_ARCH_ARM64", "capstone"), keyAt(Const, "CS_MODE_ARM", "capstone"));
    nv = new NvlabFp();
    uc = new UnicornFp();
  });

  it("runs nvlab's side on the suite's engine", () => {
    expect(nv.cpu.engine).toBe(ENGINE);
  });

  it(`every SIMD&FP row (${FP_ROW_NAMES.length} rows x ${PER_ROW} programs) agrees`, () => {
    const bad: string[] = [];
    FP_ROW_NAMES.forEach((_name, row) => {
      for (let i = 0; i < PER_ROW; i++) {
        const m = check(generateFpCase(SEED + 1, row * PER_ROW + i, 2, row), nv, uc);
        if (m) bad.push(m);
      }
    });
    console.info(`SIMD&FP differential: ${FP_ROW_NAMES.length * PER_ROW} per-row programs, ${bad.length} differ`);
    if (bad.length) expect.fail(`${bad.length} programs differ; first ones:\n\n${bad.slice(0, 6).join("\n\n")}`);
  }, 600_000);

  it(`${COUNT} mixed random programs agree (seed ${SEED})`, () => {
    const bad: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const m = check(generateFpCase(SEED, i, 6), nv, uc);
      if (m) bad.push(m);
    }
    console.info(`SIMD&FP differential: ${COUNT} mixed programs of 6 instructions, ${bad.length} differ`);
    if (bad.length) expect.fail(`${bad.length} programs differ; first ones:\n\n${bad.slice(0, 6).join("\n\n")}`);
  }, 600_000);
});
