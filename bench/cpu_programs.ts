// Real compiled programs for the CPU's speed: the self-checking integer benchmark of
// guests/c/bench (cpubench) and the LZ4 round trips of guests/c/lz4 against the LZ4 library fetched
// from the npm registry (lab/third_party.ts), built with Debian's cross compiler and run the way
// `nvlab exec` runs a program (EL1, MMU off, flat memory, the PL011), timed around the CPU alone.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cpu, type Stop } from "../emulator/cpu.ts";
import { PhysMemory } from "../emulator/memory.ts";
import { PL011_BASE, PL011_SIZE, Pl011 } from "../emulator/pl011.ts";
import { loadImage } from "../asm/image.ts";
import { loadImageFile } from "../lab/image_file.ts";
import { LZ4_NPM, npmSourceDir } from "../lab/third_party.ts";
import { Unicorn, UC_ERR_OK, unicornAvailable } from "../lab/oracle/unicorn.ts";

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

/** lz4_check built natively for the host (`hostCc`): what it prints, for comparison with nvlab's console. */
export async function nativeLz4CheckConsole(kib: number, lz4Dir?: string, hostCc = "gcc"): Promise<string> {
  const name = `lz4_check_${kib}k_native`;
  const src = lz4Dir ?? (await npmSourceDir(LZ4_NPM));
  execFileSync("make", ["-s", "-C", GUESTS_C, `build/${name}`, `LZ4_SRC=${src}`, `HOSTCC=${hostCc}`], { stdio: ["ignore", "pipe", "pipe"] });
  return execFileSync(join(GUESTS_C, "build", name), { encoding: "utf8" });
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
  /** sha256 of the program's RAM window at the end (see ramDigest). */
  ram: string;
  x0: bigint;
}

/** The RAM a bare program uses: its image, .bss, heap and stack (guests/c/ld/bare.ld). */
export const BARE_RAM = { base: PROGRAM_BASE, size: 0x100_0000 } as const;

const PAGE = 4096;
const ZERO_PAGE = new Uint8Array(PAGE);

/** sha256 over BARE_RAM, one page at a time from `page(address)` (null: a page never written). */
export function ramDigest(page: (address: number) => Uint8Array | null): string {
  const h = createHash("sha256");
  for (let off = 0; off < BARE_RAM.size; off += PAGE) h.update(page(Number(BARE_RAM.base) + off) ?? ZERO_PAGE);
  return h.digest("hex");
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
  const ram = ramDigest((a) => mem.existingPage(a)?.u8 ?? null);
  return { console: uart.text(), stop, instructions: cpu.steps, seconds, ram, x0: cpu.getX(0) };
}

/** How many instructions one call of each cpubench kernel (a `k_*` symbol) retires, in call order. */
export async function kernelInstructions(elf: string, maxSteps = 4_000_000_000): Promise<{ kernel: string; instructions: number }[]> {
  const image = await loadImageFile(elf, { defaultBase: PROGRAM_BASE, format: "elf" });
  const entries = new Map([...image.symbols].filter(([name]) => name.startsWith("k_")).map(([name, addr]) => [addr, name.slice(2)]));
  const mem = new PhysMemory({ autoAllocate: true });
  mem.addMmio(PL011_BASE, PL011_SIZE, "pl011", new Pl011());
  loadImage(image, (b, s) => mem.writeBytes(Number(b), s.bytes));
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, stopOnWfi: true });
  cpu.resetTo(image.entry);
  for (const a of entries.keys()) cpu.breakpoints.add(a);
  const out: { kernel: string; instructions: number }[] = [];
  // A breakpoint at a kernel's entry, then one at its return address (x30 there): the steps between.
  let open: { kernel: string; ret: bigint; steps: number } | null = null;
  for (;;) {
    const stop = cpu.run(maxSteps);
    if (stop.kind !== "breakpoint") break;
    const kernel = entries.get(stop.pc);
    if (kernel !== undefined && open === null) {
      open = { kernel, ret: cpu.getX(30), steps: cpu.steps };
      cpu.breakpoints.add(open.ret);
    } else if (open !== null && stop.pc === open.ret) {
      out.push({ kernel: open.kernel, instructions: cpu.steps - open.steps });
      cpu.breakpoints.delete(open.ret);
      open = null;
    }
  }
  return out;
}

export interface UnicornProgramRun {
  /** Reached the program's `bare_pass` (its brk #0), as opposed to stopping elsewhere. */
  passed: boolean;
  seconds: number;
  ram: string;
  x0: bigint;
  /** unicorn's error when it stopped on anything but bare_pass. */
  error: string | null;
}

/**
 * The same ELF on unicorn-engine (QEMU's TCG in a library), from its entry to the `bare_pass`
 * symbol: the UART page is plain RAM there (its bytes are not collected), so the comparison with
 * nvlab is of x0 and the RAM the program used, not of the console.
 */
export async function runProgramOnUnicorn(elf: string): Promise<UnicornProgramRun> {
  const image = await loadImageFile(elf, { defaultBase: PROGRAM_BASE, format: "elf" });
  const pass = image.symbols.get("bare_pass");
  if (pass === undefined) throw new Error(`${elf}: no bare_pass symbol (not linked with guests/c/rt/crt0_bare.S?)`);
  const uc = new Unicorn();
  try {
    uc.memMap(BigInt(PL011_BASE), PAGE);
    uc.memMap(BARE_RAM.base, BARE_RAM.size);
    loadImage(image, (b, s) => uc.memWrite(b, s.bytes));
    const t0 = process.hrtime.bigint();
    const err = uc.emuStart(image.entry, pass);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const pc = uc.getPC();
    const ram = ramDigest((a) => uc.memRead(BigInt(a), PAGE));
    const passed = err === UC_ERR_OK && pc === pass;
    return { passed, seconds, ram, x0: uc.getX(0), error: passed ? null : `${uc.strerror(err)} at pc 0x${pc.toString(16)}` };
  } finally {
    uc.close();
  }
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
  /** The same ELF on unicorn-engine (when it can be loaded): its speed, and whether it ended as nvlab did. */
  unicorn: { seconds: number; mips: number; agrees: boolean } | null;
  /** cpubench: the instructions one call of each kernel retires (where the time goes). */
  perCall?: { kernel: string; instructions: number }[];
}

export type ProgramsOutcome = { measured: ProgramMeasure[]; skipped: { name: string; reason: string }[] };

async function measureOne(name: string, elf: string, pass: RegExp): Promise<ProgramMeasure> {
  const run = await runProgram(elf);
  const passed = pass.test(run.console) && run.stop.kind === "brk" && run.stop.imm === 0;
  let unicorn: ProgramMeasure["unicorn"] = null;
  if (unicornAvailable().ok) {
    const u = await runProgramOnUnicorn(elf);
    // unicorn counts no instructions: it ran the same path when it ends with the same state.
    const agrees = u.passed === passed && u.x0 === run.x0 && u.ram === run.ram;
    unicorn = { seconds: u.seconds, mips: run.instructions / u.seconds / 1e6, agrees };
  }
  return { name, what: basename(elf), instructions: run.instructions, seconds: run.seconds, mips: run.instructions / run.seconds / 1e6, passed, unicorn };
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
  const cpubench = await measureOne("cpubench", bench.elf, PASS_LINE.cpubench);
  cpubench.perCall = await kernelInstructions(buildCpubench(1).elf);
  out.measured.push(cpubench);
  let lz4: ProgramFiles | null = null;
  try {
    o.progress(`programs: fetching LZ4 (cached after the first time) and building lz4_check (${o.lz4Kib} KiB inputs)`);
    lz4 = await buildLz4Check(o.lz4Kib);
  } catch (e) {
    out.skipped.push({ name: "lz4_check", reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) });
  }
  if (lz4) {
    o.progress("programs: running lz4_check");
    out.measured.push(await measureOne("lz4_check", lz4.elf, PASS_LINE.lz4));
  }
  return out;
}
