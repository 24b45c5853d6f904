// Real compiled programs for the CPU's speed: the self-checking integer benchmark of
// guests/c/bench (cpubench) and the LZ4 round trips of guests/c/lz4 against the LZ4 library fetched
// from the npm registry (lab/third_party.ts), built with Debian's cross compiler and run the way
// `nvlab exec` runs a program (EL1, MMU off, flat memory, the PL011), timed around the CPU alone.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cpu, type Stop } from "../emulator/cpu.ts";
import { PhysMemory } from "../emulator/memory.ts";
import { PL011_BASE, PL011_SIZE, Pl011 } from "../emulator/pl011.ts";
import { loadImage } from "../asm/image.ts";
import { loadImageFile } from "../lab/image_file.ts";
import { LZ4_NPM, npmSourceDir } from "../lab/third_party.ts";

const GUESTS_C = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "guests", "c");

/** Debian's AArch64 cross compiler (gcc-aarch64-linux-gnu), which the programs are built with. */
export const CROSS_GCC = "aarch64-linux-gnu-gcc";

/** exec's default load address: the programs are linked there (guests/c/ld/bare.ld). */
export const PROGRAM_BASE = 0x4010_0000n;

/** The PASS line each program ends with when every check held. */
export const PASS_LINE = { cpubench: /^cpubench: PASS$/m, lz4: /^lz4_check: PASS \(\d+ round trips\)$/m } as const;

export function crossCompilerAvailable(): boolean {
  try {
    execFileSync(CROSS_GCC, ["--version"], { stdio: "ignore" });
    execFileSync("make", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface ProgramFiles {
  elf: string;
  /** The same program as a raw image (objcopy -O binary), to load at PROGRAM_BASE. */
  bin: string;
}

/** `make -C guests/c build/NAME.elf build/NAME.bin` with these variables. */
function make(name: string, vars: Record<string, string> = {}): ProgramFiles {
  const files = { elf: join(GUESTS_C, "build", `${name}.elf`), bin: join(GUESTS_C, "build", `${name}.bin`) };
  const args = ["-s", "-C", GUESTS_C, `build/${name}.elf`, `build/${name}.bin`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  execFileSync("make", args, { stdio: ["ignore", "pipe", "pipe"] });
  return files;
}

/** cpubench running each kernel `rounds` times (1 for tests; more for timing). */
export function buildCpubench(rounds: number): ProgramFiles {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`cpubench rounds must be a positive integer (got ${rounds})`);
  return make(`cpubench_r${rounds}`);
}

/** lz4_check on inputs of `kib` KiB each, against the LZ4 sources fetched (once) from npm. */
export async function buildLz4Check(kib: number, lz4Dir?: string): Promise<ProgramFiles> {
  if (!Number.isInteger(kib) || kib < 1 || kib > 4096) throw new Error(`lz4_check input size must be 1..4096 KiB (got ${kib})`);
  return make(`lz4_check_${kib}k`, { LZ4_SRC: lz4Dir ?? (await npmSourceDir(LZ4_NPM)) });
}

/**
 * What guests/c/bench/expected.h should hold: the text the native build of cpubench (host
 * compiler, -DBENCH_GENERATE) prints. `make -C guests/c bench-expected` writes it to the file.
 */
export function nativeCpubenchExpected(hostCc = "gcc"): string {
  execFileSync("make", ["-s", "-C", GUESTS_C, "build/cpubench_gen", `HOSTCC=${hostCc}`], { stdio: ["ignore", "pipe", "pipe"] });
  return execFileSync(join(GUESTS_C, "build", "cpubench_gen"), { encoding: "utf8" });
}

export interface ProgramRun {
  console: string;
  stop: Stop;
  instructions: number;
  /** Host time of the CPU's run alone (loading and building excluded). */
  seconds: number;
}

/** Run a program as `nvlab exec` does: an ELF at its addresses, a raw image at `base`. */
export async function runProgram(file: string, maxSteps = 4_000_000_000, base = PROGRAM_BASE): Promise<ProgramRun> {
  if (!existsSync(file)) throw new Error(`${file}: not built`);
  const image = await loadImageFile(file, { defaultBase: base });
  const mem = new PhysMemory({ autoAllocate: true });
  const uart = new Pl011();
  mem.addMmio(PL011_BASE, PL011_SIZE, "pl011", uart);
  loadImage(image, (b, s) => mem.writeBytes(Number(b), s.bytes));
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, stopOnWfi: true });
  cpu.resetTo(image.entry);
  const t0 = process.hrtime.bigint();
  const stop = cpu.run(maxSteps);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { console: uart.text(), stop, instructions: cpu.steps, seconds };
}

export interface ProgramMeasure {
  name: string;
  /** What was run: the ELF's name and the build parameter. */
  what: string;
  instructions: number;
  seconds: number;
  mips: number;
  /** The program printed its PASS line and stopped at brk #0. */
  passed: boolean;
}

export type ProgramsOutcome = { measured: ProgramMeasure[]; skipped: { name: string; reason: string }[] };

function measureOne(name: string, what: string, run: ProgramRun, pass: RegExp): ProgramMeasure {
  const passed = pass.test(run.console) && run.stop.kind === "brk" && run.stop.imm === 0;
  return { name, what, instructions: run.instructions, seconds: run.seconds, mips: run.instructions / run.seconds / 1e6, passed };
}

/**
 * Build and time cpubench (`rounds` rounds) and lz4_check (`lz4Kib` KiB inputs), one run each
 * after an unmeasured warm-up run of the quick cpubench (the JIT compiles the interpreter's hot
 * paths in it). A program that cannot be built here is listed as skipped with the reason.
 */
export async function measureCpuPrograms(o: { rounds: number; lz4Kib: number; progress: (msg: string) => void }): Promise<ProgramsOutcome> {
  const out: ProgramsOutcome = { measured: [], skipped: [] };
  if (!crossCompilerAvailable()) {
    const reason = `${CROSS_GCC} or make not installed (apt-get install gcc-aarch64-linux-gnu make)`;
    out.skipped.push({ name: "cpubench", reason }, { name: "lz4_check", reason });
    return out;
  }
  o.progress(`programs: building cpubench (${o.rounds} rounds)`);
  const bench = buildCpubench(o.rounds);
  await runProgram(buildCpubench(1).elf); // warm-up
  o.progress("programs: running cpubench");
  out.measured.push(measureOne("cpubench", `cpubench_r${o.rounds}.elf`, await runProgram(bench.elf), PASS_LINE.cpubench));
  let lz4: ProgramFiles | null = null;
  try {
    o.progress(`programs: fetching LZ4 (cached after the first time) and building lz4_check (${o.lz4Kib} KiB inputs)`);
    lz4 = await buildLz4Check(o.lz4Kib);
  } catch (e) {
    out.skipped.push({ name: "lz4_check", reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) });
  }
  if (lz4) {
    o.progress("programs: running lz4_check");
    out.measured.push(measureOne("lz4_check", `lz4_check_${o.lz4Kib}k.elf`, await runProgram(lz4.elf), PASS_LINE.lz4));
  }
  return out;
}
