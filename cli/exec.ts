// `nvlab exec`: assemble a bare program, run it at EL1 with the MMU off on flat memory, report the
// final state. The simplest way to try instructions and to check the CPU model against hardware
// or QEMU.

import { IMAGE_FORMATS, type ImageFormat, loadImageFile } from "../lab/image_file.ts";
import { loadImage, type Image } from "../asm/image.ts";
import { disassemble, loadDisassembler, symbolize } from "../asm/disassembler.ts";
import { Cpu, type Stop } from "../emulator/cpu.ts";
import type { Engine } from "../emulator/engine.ts";
import { EC_NAMES, ecOf, issOf } from "../emulator/exception.ts";
import { PhysMemory } from "../emulator/memory.ts";
import { PL011_BASE, PL011_SIZE, Pl011 } from "../emulator/pl011.ts";
import { hex, pa } from "../emulator/types.ts";
import { nzcvHex, regsJson, regsText, type RegsJson } from "./format.ts";
import { UsageError } from "./errors.ts";
import { PA_MAX_BITS } from "../emulator/mmu/granule.ts";
import { ADP_STOPPED_APPLICATION_EXIT, type HeapInfo, Semihosting } from "../emulator/semihosting.ts";
import { RUN_STATUS, guestCodeIsStatus } from "../lab/exit_status.ts";

export const EXEC_DEFAULT_BASE = 0x4010_0000n;

export interface ExecOptions {
  file: string;
  /** Load address of a source or raw binary (default EXEC_DEFAULT_BASE); an ELF loads at its own. */
  base?: bigint;
  /** How the file is read (default: told by its content and name). */
  format?: ImageFormat;
  maxSteps: number;
  /** Called with one line per executed instruction. */
  trace?: (line: string) => void;
  /** Console bytes as they are written. */
  console?: (byte: number) => void;
  /** Serve Arm semihosting calls (`hlt #0xf000`); absent: HLT is UNDEFINED. */
  semihosting?: ExecSemihosting;
  /** The engine that runs the program (default: NVLAB_ENGINE, else the translator). */
  engine?: Engine;
}

/** `--semihosting`, `--semihosting-root` and `--semihosting-cmdline`. */
export interface ExecSemihosting {
  /** Directory SYS_OPEN may reach; null: none (only ":tt"). */
  root: string | null;
  /** The arguments GET_CMDLINE returns after the program's name. */
  args?: string;
  /** Bytes reads from ":tt" return, then end of file. */
  input?: Uint8Array;
}

/** SYS_HEAPINFO's heap: from the first 64 KiB boundary above the image, this size, then the stack. */
export const SEMIHOSTING_HEAP_SIZE = 0x0400_0000n;
export const SEMIHOSTING_STACK_SIZE = 0x0010_0000n;

/** Heap above the image, the stack above the heap (flat memory allocates pages as they are touched). */
export function semihostingHeap(image: Image): HeapInfo {
  const end = image.sections.reduce((m, s) => (s.base + BigInt(s.bytes.length) > m ? s.base + BigInt(s.bytes.length) : m), 0n);
  const heapBase = (end + 0xffffn) & ~0xffffn;
  const heapLimit = heapBase + SEMIHOSTING_HEAP_SIZE;
  return { heapBase, heapLimit, stackBase: heapLimit + SEMIHOSTING_STACK_SIZE, stackLimit: heapLimit };
}

export interface ExecResult {
  stop: StopJson;
  regs: RegsJson;
  steps: number;
  console: string;
  cpu: Cpu;
  image: Image;
}

export interface StopJson {
  kind: Stop["kind"];
  /** One-line explanation for humans. */
  message: string;
  [field: string]: string | number;
}

/** `--format`: one of IMAGE_FORMATS. */
export function parseImageFormat(text: string): ImageFormat {
  const f = IMAGE_FORMATS.find((x) => x === text);
  if (f === undefined) throw new UsageError(`--format: '${text}' is not one of ${IMAGE_FORMATS.join(", ")}`);
  return f;
}

/** Exit status of `nvlab exec` for each stop kind. */
export function execExitCode(stop: StopJson): number {
  if (stop.kind === "brk" && stop.imm === 0) return 0;
  if (stop.kind === "semihosting-exit") return semihostingExitStatus(Number(stop.code));
  if (stop.kind === "budget") return 2;
  return 3;
}

/** The exec statuses a semihosting exit code must not be mistaken for (besides run's own). */
const EXEC_OWN_STATUSES: ReadonlySet<number> = new Set([2, 3]);

/** A SYS_EXIT code as exec's status: itself when unambiguous, else 123 (as `nvlab run`). */
export function semihostingExitStatus(code: number): number {
  return guestCodeIsStatus(code) && !EXEC_OWN_STATUSES.has(code) ? code : RUN_STATUS.guestCodeNotRepresentable;
}

export async function execProgram(opts: ExecOptions): Promise<ExecResult> {
  const image = await loadImageFile(opts.file, { defaultBase: opts.base ?? EXEC_DEFAULT_BASE, ...(opts.format === undefined ? {} : { format: opts.format }) });
  if (image.format === "elf" && opts.base !== undefined) {
    // With the MMU off the code runs where it was linked: moving it would break every absolute address.
    throw new UsageError(`--base: ${opts.file} is an ELF executable, loaded at its segments' physical addresses; --base places .S sources and raw binaries`);
  }
  checkFlatPlacement(image);
  const mem = new PhysMemory({ autoAllocate: true });
  const uart = new Pl011(opts.console);
  mem.addMmio(PL011_BASE, PL011_SIZE, "pl011", uart);
  loadImage(image, (base, s) => mem.writeBytes(pa(base), s.bytes));
  const sh = opts.semihosting;
  const semihosting = sh === undefined ? null : new Semihosting({
    root: sh.root,
    cmdline: [opts.file, ...(sh.args === undefined || sh.args === "" ? [] : [sh.args])].join(" "),
    heap: semihostingHeap(image),
    console: (b) => uart.write(0, 1, BigInt(b)),
    ...(sh.input === undefined ? {} : { input: sh.input }),
  });
  const cpu = new Cpu(mem, { stopOnBrk: true, stopOnUnvectoredEl1: true, stopOnWfi: true, semihosting, engine: opts.engine });
  cpu.resetTo(image.entry);
  let stop: Stop;
  try {
    stop = opts.trace ? await runTraced(cpu, image, opts.maxSteps, opts.trace) : cpu.run(opts.maxSteps);
  } finally {
    semihosting?.closeAll();
  }
  return { stop: describeStop(stop, cpu), regs: regsJson(cpu), steps: cpu.steps, console: uart.text(), cpu, image };
}

/**
 * Refuse an image that flat memory cannot hold: over the UART's registers, or beyond the physical
 * address space, where the first fetch would fault for a reason that is the placement's, not the
 * program's.
 */
function checkFlatPlacement(image: Image): void {
  const uartEnd = BigInt(PL011_BASE + PL011_SIZE);
  for (const s of image.sections) {
    const end = s.base + BigInt(s.bytes.length);
    const where = `image ${image.file}: section ${s.name} at ${hex(s.base)}..${hex(end)}`;
    if (s.base < uartEnd && end > BigInt(PL011_BASE)) {
      throw new UsageError(`${where} overlaps the PL011 UART's registers (${hex(PL011_BASE)}..${hex(uartEnd)}); choose another --base (default ${hex(EXEC_DEFAULT_BASE)})`);
    }
    if (end > 1n << BigInt(PA_MAX_BITS)) {
      throw new UsageError(`${where} lies beyond the ${PA_MAX_BITS}-bit physical address space; choose another --base (default ${hex(EXEC_DEFAULT_BASE)})`);
    }
  }
}

function describeStop(stop: Stop, cpu: Cpu): StopJson {
  switch (stop.kind) {
    case "brk":
      return { kind: "brk", imm: stop.imm, pc: hex(stop.pc), message: `brk #${stop.imm} at ${hex(stop.pc)}` };
    case "budget":
      return { kind: "budget", message: `step budget exhausted after ${cpu.steps} instructions (raise --max-steps?)` };
    case "breakpoint":
      return { kind: "breakpoint", pc: hex(stop.pc), message: `breakpoint at ${hex(stop.pc)}` };
    case "watchpoint":
      return { kind: "watchpoint", pc: hex(cpu.getPC()), message: `watchpoint hit before ${hex(cpu.getPC())}` };
    case "wfi":
      return { kind: "wfi", pc: hex(stop.pc), message: `wfi at ${hex(stop.pc)} with nothing to wake the CPU` };
    case "semihosting-exit":
      return {
        kind: "semihosting-exit",
        code: stop.code,
        reason: hex(BigInt(stop.reason)),
        subcode: stop.subcode,
        message: `semihosting SYS_EXIT: reason ${hex(BigInt(stop.reason))}${stop.reason === ADP_STOPPED_APPLICATION_EXIT ? " (ApplicationExit)" : ""}, exit code ${stop.code}`,
      };
    case "exit": {
      const e = stop.exit;
      const ec = EC_NAMES[e.ec] ?? "?";
      return {
        kind: "exit",
        ec: hex(e.ec, 2),
        ecName: ec,
        esr: hex(e.esr),
        far: hex(e.far),
        hpfar: hex(e.hpfar),
        elr: hex(e.elr),
        message: `exception to EL2: EC ${hex(e.ec, 2)} (${ec}) ISS ${hex(issOf(e.esr))} at ${hex(e.elr)}`,
      };
    }
    case "el1-exception": {
      const ec = ecOf(stop.esr);
      const name = EC_NAMES[ec] ?? "?";
      return {
        kind: "el1-exception",
        ec: hex(ec, 2),
        ecName: name,
        esr: hex(stop.esr),
        far: hex(stop.far),
        elr: hex(stop.elr),
        message: `unhandled exception at EL1 (VBAR_EL1 not set): EC ${hex(ec, 2)} (${name}) ISS ${hex(issOf(stop.esr))} at ${hex(stop.elr)}, FAR ${hex(stop.far)}`,
      };
    }
  }
}

/** Run one instruction at a time, printing each with the registers it changed. */
async function runTraced(cpu: Cpu, image: Image, maxSteps: number, out: (line: string) => void): Promise<Stop> {
  await loadDisassembler();
  const before = new Uint32Array(cpu.x.length);
  const beforeV = new Uint32Array(cpu.vregs.length);
  for (let i = 0; i < maxSteps; i++) {
    const pc = cpu.getPC();
    const word = peekWord(cpu, pc);
    const nzcv = cpu.nzcv();
    before.set(cpu.x);
    beforeV.set(cpu.vregs);
    const fpcr = cpu.fpcr;
    const fpsr = cpu.fpsr;
    const stop = cpu.run(1);
    const changes: string[] = [];
    for (let r = 0; r <= 32; r++) {
      if (before[2 * r] !== cpu.x[2 * r] || before[2 * r + 1] !== cpu.x[2 * r + 1]) {
        if (r === 31) continue;
        changes.push(`${r === 32 ? "sp" : `x${r}`}=${hex(cpu.getX(r))}`);
      }
    }
    if (cpu.nzcv() !== nzcv) changes.push(`nzcv=${nzcvHex(cpu.nzcv())}`);
    changes.push(...fpChanges(cpu, beforeV, fpcr, fpsr));
    const sym = symbolize(pc, image.symbols);
    const text = word === null ? "<unreadable>" : disassemble(word, pc).text;
    out(`${hex(pc, 16)}  ${(sym ? `<${sym}>` : "").padEnd(20)} ${text.padEnd(32)} ${changes.join(" ")}`.trimEnd());
    if (stop.kind !== "budget") return stop;
  }
  return { kind: "budget" };
}

/** The V registers (all 128 bits, as hex), FPCR and FPSR that differ from before the step. */
function fpChanges(cpu: Cpu, beforeV: Uint32Array, fpcr: number, fpsr: number): string[] {
  const out: string[] = [];
  const v = cpu.vregs;
  for (let n = 0; n < 32; n++) {
    const b = 4 * n;
    if (beforeV[b] !== v[b] || beforeV[b + 1] !== v[b + 1] || beforeV[b + 2] !== v[b + 2] || beforeV[b + 3] !== v[b + 3]) {
      out.push(`v${n}=0x${cpu.getV(n).toString(16).padStart(32, "0")}`);
    }
  }
  if (cpu.fpcr !== fpcr) out.push(`fpcr=${hex(cpu.fpcr, 8)}`);
  if (cpu.fpsr !== fpsr) out.push(`fpsr=${hex(cpu.fpsr, 8)}`);
  return out;
}

function peekWord(cpu: Cpu, pc: bigint): number | null {
  try {
    return Number(cpu.mem.read(Number(pc), 4));
  } catch {
    return null;
  }
}

export function execText(r: ExecResult): string {
  const lines = [`stop: ${r.stop.message}`, `steps: ${r.steps}`, regsText(r.cpu)];
  return lines.join("\n");
}
