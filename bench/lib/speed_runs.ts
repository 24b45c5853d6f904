// One timed run of each speed-benchmark workload on a named engine: nvlab's interpreter, nvlab's
// WebAssembly translator ("jit"), or unicorn-engine. The nvlab runs hand back the CPU's JitStats, so
// compile time and code-cache size sit beside the speed they bought.

import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cpu, type Stop } from "../../emulator/cpu.ts";
import type { Engine } from "../../emulator/engine.ts";
import type { JitStats } from "../../emulator/jit/stats.ts";
import { PhysMemory } from "../../emulator/memory.ts";
import { PL011_BASE, PL011_SIZE, Pl011 } from "../../emulator/pl011.ts";
import { loadImage } from "../../asm/image.ts";
import { loadImageFile } from "../../lab/image_file.ts";
import { LZ4_NPM, npmSourceDir } from "../../lab/third_party.ts";
import { PROGRAM_BASE, ramDigest, runProgramOnUnicorn } from "../cpu_programs.ts";
import { code, CODE, END, LOOP, runUnicorn, TABLE, TABLE_ENTRIES, tableSum } from "./cpu_loop.ts";

export const SPEED_ENGINES = ["interp", "jit", "unicorn"] as const;
export type SpeedEngine = (typeof SPEED_ENGINES)[number];

/** What one run took and left behind: the end state lets the engines be checked against each other. */
export interface EngineRun {
  seconds: number;
  instructions: number;
  /** A digest of the final state that every engine must reproduce. */
  state: string;
  /** The translator's counters after the run (null: the interpreter, unicorn, or no translator yet). */
  jit: JitStats | null;
}

/**
 * Runs `fn` with NVLAB_ENGINE set to `engine`: every Cpu constructed inside (the vCPUs runVm builds
 * included, which take no engine option) gets that engine. The previous value comes back after.
 */
export async function withEngine<T>(engine: Engine, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env.NVLAB_ENGINE;
  process.env.NVLAB_ENGINE = engine;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NVLAB_ENGINE;
    else process.env.NVLAB_ENGINE = saved;
  }
}

const loopState = (regs: bigint[], sum: bigint) => `${regs.map((r) => r.toString(16)).join(",")};${sum.toString(16)}`;

/** The bench:cpu loop (bench/lib/cpu_loop.ts) `iterations` times on `engine`. */
export function runLoop(engine: SpeedEngine, iterations: number): EngineRun {
  if (engine === "unicorn") {
    const u = runUnicorn(iterations);
    return { seconds: u.seconds, instructions: u.instructions, state: loopState(u.regs, u.tableSum), jit: null };
  }
  const mem = new PhysMemory({ autoAllocate: true });
  mem.writeBytes(CODE, code());
  mem.writeBytes(TABLE, new Uint8Array(8 * TABLE_ENTRIES));
  const cpu = new Cpu(mem, { stopOnBrk: true, engine });
  cpu.resetTo(BigInt(CODE));
  cpu.setX(0, BigInt(iterations));
  cpu.setX(10, BigInt(TABLE));
  const t0 = process.hrtime.bigint();
  const stop = cpu.run(Number.MAX_SAFE_INTEGER);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stop.kind !== "brk" || stop.pc !== END) throw new Error(`nvlab (${engine}) did not reach the loop's final brk: ${describeStop(stop)}`);
  if (cpu.steps !== LOOP.length * iterations) throw new Error(`nvlab (${engine}) retired ${cpu.steps} instructions, expected ${LOOP.length * iterations}`);
  const regs = Array.from({ length: 12 }, (_, i) => cpu.getX(i));
  return { seconds, instructions: cpu.steps, state: loopState(regs, tableSum(mem.readBytes(TABLE, 8 * TABLE_ENTRIES))), jit: cpu.jitStats() };
}

function describeStop(stop: Stop): string {
  return JSON.stringify(stop, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
}

/** A compiled program's run: besides EngineRun, whether its own checks printed PASS. */
export interface ProgramRun extends EngineRun {
  passed: boolean;
}

/**
 * A bare program (guests/c, linked for `nvlab exec`) on `engine`, timed around the CPU alone. unicorn
 * counts no instructions, so its run carries `knownInstructions` (nvlab's count for the same ELF).
 */
export async function runProgramOn(engine: SpeedEngine, elf: string, pass: RegExp, knownInstructions = 0): Promise<ProgramRun> {
  if (engine === "unicorn") {
    const u = await runProgramOnUnicorn(elf);
    return { seconds: u.seconds, instructions: knownInstructions, state: `${u.x0.toString(16)};${u.ram}`, jit: null, passed: u.passed };
  }
  const image = await loadImageFile(elf, { defaultBase: PROGRAM_BASE });
  const mem = new PhysMemory({ autoAllocate: true });
  const uart = new Pl011();
  mem.addMmio(PL011_BASE, PL011_SIZE, "pl011", uart);
  loadImage(image, (b, s) => mem.writeBytes(Number(b), s.bytes));
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, stopOnWfi: true, engine });
  cpu.resetTo(image.entry);
  const t0 = process.hrtime.bigint();
  const stop = cpu.run(8_000_000_000);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const passed = pass.test(uart.text()) && stop.kind === "brk" && stop.imm === 0;
  const state = `${cpu.getX(0).toString(16)};${ramDigest((a) => mem.existingPage(a)?.u8 ?? null)}`;
  return { seconds, instructions: cpu.steps, state, jit: cpu.jitStats(), passed };
}

const GUESTS_C = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "guests", "c");

/** The integer-only builds live apart from the ordinary ones (same names, different code). */
export const INTEGER_BUILD_DIR = "build/int";

/** `make` a bare program built with REGS=-mgeneral-regs-only: no SIMD&FP instruction anywhere. */
function makeInteger(name: string, vars: Record<string, string> = {}): string {
  const elf = `${INTEGER_BUILD_DIR}/${name}.elf`;
  const args = ["-s", "-C", GUESTS_C, `B=${INTEGER_BUILD_DIR}`, "REGS=-mgeneral-regs-only", elf, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  execFileSync("make", args, { stdio: ["ignore", "pipe", "pipe"] });
  return join(GUESTS_C, elf);
}

/** cpubench (guests/c/bench), integer build, every kernel run `rounds` times. */
export function buildIntegerCpubench(rounds: number): string {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`cpubench rounds must be a positive integer (got ${rounds})`);
  return makeInteger(`cpubench_r${rounds}`);
}

/** lz4_check (guests/c/lz4) on `kib` KiB inputs, integer build, against the LZ4 sources from npm. */
export async function buildIntegerLz4Check(kib: number): Promise<string> {
  if (!Number.isInteger(kib) || kib < 1 || kib > 4096) throw new Error(`lz4_check input size must be 1..4096 KiB (got ${kib})`);
  return makeInteger(`lz4_check_${kib}k`, { LZ4_SRC: await npmSourceDir(LZ4_NPM) });
}
