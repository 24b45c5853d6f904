// Arm semihosting (the "Semihosting for AArch32 and AArch64" specification), as QEMU's
// -semihosting serves it: `hlt #0xf000` at EL1 with the operation number in w0 and the address of
// its parameter block in x1; the result goes to x0. The CPU model serves the call itself, whichever
// EL1 runs (a bare program, L1 or L2), as QEMU's TCG does: no hypervisor sees it, so nested guests
// need no cooperation from L0 or L1.
//
// Deterministic: the clocks count retired instructions, never the host's time (see SEMIHOSTING_TICK_HZ).

import type { CpuState } from "./cpu_state.ts";
import {
  ERRNO, type HostFile, SemihostError, closeHostFile, confinedPath, hostFileLength, openHostFile,
  readHostFile, removeHostFile, renameHostFile, writeHostFile,
} from "./semihosting_files.ts";

/** The immediate of `hlt` that is a semihosting call on A64. */
export const SEMIHOSTING_HLT_IMM = 0xf000;

/** Operation numbers (w0) of the specification. */
export const SYS = {
  OPEN: 0x01,
  CLOSE: 0x02,
  WRITEC: 0x03,
  WRITE0: 0x04,
  WRITE: 0x05,
  READ: 0x06,
  READC: 0x07,
  ISERROR: 0x08,
  ISTTY: 0x09,
  SEEK: 0x0a,
  FLEN: 0x0c,
  REMOVE: 0x0e,
  RENAME: 0x0f,
  CLOCK: 0x10,
  TIME: 0x11,
  ERRNO: 0x13,
  GET_CMDLINE: 0x15,
  HEAPINFO: 0x16,
  EXIT: 0x18,
  SYNCCACHE: 0x19,
  EXIT_EXTENDED: 0x20,
  ELAPSED: 0x30,
  TICKFREQ: 0x31,
} as const;

/** SYS_EXIT reason meaning "the application exited", whose subcode is the exit status. */
export const ADP_STOPPED_APPLICATION_EXIT = 0x20026;

/**
 * The semihosting clock: one tick per retired instruction at a nominal 100 MHz, so SYS_ELAPSED is
 * the instruction count, SYS_CLOCK is instructions / 1e6 (centiseconds) and SYS_TIME advances one
 * second per 1e8 instructions from `timeBase`. Runs repeat exactly; host speed never shows.
 */
export const SEMIHOSTING_TICK_HZ = 100_000_000;

/** ":semihosting-features" content: magic "SHFB" then feature byte 0 (EXIT_EXTENDED | STDOUT_STDERR). */
const FEATURES = new Uint8Array([0x53, 0x48, 0x46, 0x42, 0x03]);

/** HEAPINFO's four words: the heap's base and limit, the stack's base (top) and limit (bottom). */
export interface HeapInfo {
  heapBase: bigint;
  heapLimit: bigint;
  stackBase: bigint;
  stackLimit: bigint;
}

export interface SemihostingConfig {
  /** Directory SYS_OPEN may reach; null: only ":tt" and ":semihosting-features" open. */
  root: string | null;
  /** GET_CMDLINE's answer: the program name and its arguments. */
  cmdline: string;
  heap: HeapInfo;
  /** Console output of WRITEC/WRITE0/WRITE to ":tt" (the UART's console). */
  console: (byte: number) => void;
  /** What reads from ":tt" return, then end of file. */
  input?: Uint8Array;
  /** SYS_TIME at instruction 0, in seconds since the Unix epoch. */
  timeBase?: number;
}

/** How a SYS_EXIT or SYS_EXIT_EXTENDED ended the program. */
export interface SemihostingExit {
  reason: number;
  subcode: number;
  /** The program's exit status: the subcode for ApplicationExit, 1 for any other reason (as QEMU). */
  code: number;
}

type Handle =
  | { kind: "tty"; out: boolean }
  | { kind: "features"; pos: number }
  | { kind: "file"; file: HostFile };

/** One semihosting host: its handle table and errno are shared by every CPU that calls it. */
export class Semihosting {
  private readonly handles = new Map<number, Handle>();
  private nextHandle = 1;
  private errno = 0;
  private inputPos = 0;

  constructor(readonly config: SemihostingConfig) {}

  /** Serve the call at the CPU's current `hlt` (w0 = operation, x1 = parameter block). */
  call(cpu: CpuState): void {
    const op = Number(cpu.getX(0) & 0xffffffffn);
    const args = cpu.getX(1);
    let result: bigint;
    try {
      result = this.dispatch(cpu, op, args);
    } catch (e) {
      if (!(e instanceof SemihostError)) throw e;
      this.errno = e.errno;
      result = -1n;
    }
    cpu.setX(0, BigInt.asUintN(64, result));
  }

  /** Host files the guest has open (their offsets live in the host, beyond any snapshot). */
  get openFiles(): number {
    let n = 0;
    for (const h of this.handles.values()) if (h.kind === "file") n++;
    return n;
  }

  /** Close every host file (the run is over). */
  closeAll(): void {
    for (const h of this.handles.values()) if (h.kind === "file") closeHostFile(h.file);
    this.handles.clear();
  }

  private dispatch(cpu: CpuState, op: number, args: bigint): bigint {
    const arg = (i: number): bigint => readU64(cpu, args + BigInt(8 * i));
    switch (op) {
      case SYS.OPEN: return this.open(cpu, arg(0), Number(arg(1)), Number(arg(2)));
      case SYS.CLOSE: return this.close(Number(arg(0)));
      case SYS.WRITEC: return this.writeConsole(readBytes(cpu, args, 1)), 0n;
      case SYS.WRITE0: return this.writeConsole(readCString(cpu, args)), 0n;
      case SYS.WRITE: return this.write(cpu, Number(arg(0)), arg(1), Number(arg(2)));
      case SYS.READ: return this.read(cpu, Number(arg(0)), arg(1), Number(arg(2)));
      case SYS.READC: return this.readc();
      case SYS.ISERROR: return BigInt.asIntN(64, arg(0)) < 0n ? 1n : 0n;
      case SYS.ISTTY: return this.handle(Number(arg(0))).kind === "tty" ? 1n : 0n;
      case SYS.SEEK: return this.seek(Number(arg(0)), Number(arg(1)));
      case SYS.FLEN: return this.flen(Number(arg(0)));
      case SYS.REMOVE: return removeHostFile(this.hostPath(cpu, arg(0), Number(arg(1)))), 0n;
      case SYS.RENAME: {
        const from = this.hostPath(cpu, arg(0), Number(arg(1)));
        return renameHostFile(from, this.hostPath(cpu, arg(2), Number(arg(3)))), 0n;
      }
      case SYS.CLOCK: return BigInt(Math.floor(cpu.steps / (SEMIHOSTING_TICK_HZ / 100)));
      case SYS.TIME: return BigInt((this.config.timeBase ?? 0) + Math.floor(cpu.steps / SEMIHOSTING_TICK_HZ));
      case SYS.ELAPSED: return writeU64(cpu, args, BigInt(cpu.steps)), 0n;
      case SYS.TICKFREQ: return BigInt(SEMIHOSTING_TICK_HZ);
      case SYS.ERRNO: return BigInt(this.errno);
      case SYS.GET_CMDLINE: return this.getCmdline(cpu, args, arg(0), Number(arg(1)));
      case SYS.HEAPINFO: return this.heapInfo(cpu, arg(0));
      case SYS.SYNCCACHE: return 0n; // no caches to clean (A64 only)
      case SYS.EXIT:
      case SYS.EXIT_EXTENDED: return this.exit(cpu, Number(arg(0)), Number(BigInt.asIntN(32, arg(1))));
      default:
        throw new SemihostError(ERRNO.ENOSYS, `semihosting operation ${op} is not implemented`);
    }
  }

  private open(cpu: CpuState, namePtr: bigint, mode: number, len: number): bigint {
    if (mode < 0 || mode > 11) throw new SemihostError(ERRNO.EINVAL, `SYS_OPEN mode ${mode} is not 0..11`);
    const name = new TextDecoder("latin1").decode(readBytes(cpu, namePtr, len));
    let h: Handle;
    if (name === ":tt") {
      h = { kind: "tty", out: mode >= 4 }; // 0..3 stdin, 4..7 stdout, 8..11 stderr
    } else if (name === ":semihosting-features") {
      if (mode !== 0 && mode !== 1) throw new SemihostError(ERRNO.EACCES, "features file is read-only");
      h = { kind: "features", pos: 0 };
    } else {
      h = { kind: "file", file: openHostFile(confinedPath(this.config.root, name), mode) };
    }
    const n = this.nextHandle++;
    this.handles.set(n, h);
    return BigInt(n);
  }

  /** A guest file name resolved inside the root (special names are no host files). */
  private hostPath(cpu: CpuState, namePtr: bigint, len: number): string {
    const name = new TextDecoder("latin1").decode(readBytes(cpu, namePtr, len));
    if (name.startsWith(":")) throw new SemihostError(ERRNO.EACCES, `${name} is not a host file`);
    return confinedPath(this.config.root, name);
  }

  private handle(n: number): Handle {
    const h = this.handles.get(n);
    if (!h) throw new SemihostError(ERRNO.EBADF, `bad semihosting handle ${n}`);
    return h;
  }

  private close(n: number): bigint {
    const h = this.handle(n);
    this.handles.delete(n);
    if (h.kind === "file") closeHostFile(h.file);
    return 0n;
  }

  private writeConsole(bytes: Uint8Array): void {
    for (const b of bytes) this.config.console(b);
  }

  /** SYS_WRITE: the result is the number of bytes NOT written. */
  private write(cpu: CpuState, n: number, buf: bigint, len: number): bigint {
    const h = this.handle(n);
    const bytes = readBytes(cpu, buf, len);
    if (h.kind === "tty") this.writeConsole(bytes);
    else if (h.kind === "file") writeHostFile(h.file, bytes);
    else throw new SemihostError(ERRNO.EBADF, "features file is read-only");
    return 0n;
  }

  /** SYS_READ: the result is the number of bytes NOT read (len at end of file). */
  private read(cpu: CpuState, n: number, buf: bigint, len: number): bigint {
    const h = this.handle(n);
    // The guest buffer is checked first, so a fault (which re-executes the call) loses no input.
    probeWritable(cpu, buf, len);
    let got: Uint8Array;
    if (h.kind === "tty") {
      const input = this.config.input ?? new Uint8Array(0);
      got = input.subarray(this.inputPos, this.inputPos + len);
      this.inputPos += got.length;
    } else if (h.kind === "features") {
      got = FEATURES.subarray(h.pos, h.pos + len);
      h.pos += got.length;
    } else {
      got = readHostFile(h.file, len);
    }
    writeBytes(cpu, buf, got);
    return BigInt(len - got.length);
  }

  private readc(): bigint {
    const input = this.config.input ?? new Uint8Array(0);
    const b = input[this.inputPos];
    if (b === undefined) return -1n;
    this.inputPos++;
    return BigInt(b);
  }

  private seek(n: number, pos: number): bigint {
    const h = this.handle(n);
    if (h.kind === "tty") throw new SemihostError(ERRNO.EINVAL, "cannot seek the console");
    if (pos < 0) throw new SemihostError(ERRNO.EINVAL, "negative seek");
    if (h.kind === "features") h.pos = pos;
    else h.file.pos = pos;
    return 0n;
  }

  private flen(n: number): bigint {
    const h = this.handle(n);
    if (h.kind === "tty") throw new SemihostError(ERRNO.EINVAL, "the console has no length");
    return BigInt(h.kind === "features" ? FEATURES.length : hostFileLength(h.file));
  }

  /** GET_CMDLINE: {buffer, size}; the text NUL-terminated into the buffer, its length into size. */
  private getCmdline(cpu: CpuState, block: bigint, buf: bigint, size: number): bigint {
    const text = new TextEncoder().encode(this.config.cmdline);
    if (text.length + 1 > size) throw new SemihostError(ERRNO.E2BIG, "command line buffer too small");
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    writeBytes(cpu, buf, out);
    writeU64(cpu, block + 8n, BigInt(text.length));
    return 0n;
  }

  /** HEAPINFO: x1 holds the address of a pointer to the four-word block the answer fills. */
  private heapInfo(cpu: CpuState, block: bigint): bigint {
    const h = this.config.heap;
    [h.heapBase, h.heapLimit, h.stackBase, h.stackLimit].forEach((v, i) => writeU64(cpu, block + BigInt(8 * i), v));
    return 0n;
  }

  private exit(cpu: CpuState, reason: number, subcode: number): never {
    const code = reason === ADP_STOPPED_APPLICATION_EXIT ? subcode : 1;
    cpu.stopRun({ kind: "semihosting-exit", reason, subcode, code });
  }
}

// ------------------------------------------------------------------ guest memory (virtual addresses)

// Accesses go through the CPU's own translation, so they see the guest's stage 1 and any stage 2 and
// fault as a load or store would: a stage-2 fault exits to the host, which maps the page and resumes
// at the `hlt`, so the call runs again from the start.

function lohi(va: bigint): [number, number] {
  const v = BigInt.asUintN(64, va);
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

function readU64(cpu: CpuState, va: bigint): bigint {
  const [lo, hi] = lohi(va);
  cpu.load64(lo, hi, 0);
  return (BigInt(cpu.tHi >>> 0) << 32n) | BigInt(cpu.tLo >>> 0);
}

function writeU64(cpu: CpuState, va: bigint, v: bigint): void {
  const [lo, hi] = lohi(va);
  const [vLo, vHi] = lohi(v);
  cpu.store64(lo, hi, vLo, vHi, 0);
}

function readBytes(cpu: CpuState, va: bigint, n: number): Uint8Array {
  if (n < 0 || n > 0x1000_0000) throw new SemihostError(ERRNO.EINVAL, `length ${n}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const [lo, hi] = lohi(va + BigInt(i));
    out[i] = cpu.load(lo, hi, 1, 0);
  }
  return out;
}

/** A NUL-terminated string (WRITE0). */
function readCString(cpu: CpuState, va: bigint): Uint8Array {
  const out: number[] = [];
  for (let a = va; ; a++) {
    const [lo, hi] = lohi(a);
    const b = cpu.load(lo, hi, 1, 0);
    if (b === 0) return Uint8Array.from(out);
    out.push(b);
  }
}

function writeBytes(cpu: CpuState, va: bigint, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) {
    const [lo, hi] = lohi(va + BigInt(i));
    cpu.store(lo, hi, 1, bytes[i]!, 0);
  }
}

/** Touch every page of [va, va+n) for writing (rewriting a byte with itself), faulting before any effect. */
function probeWritable(cpu: CpuState, va: bigint, n: number): void {
  if (n <= 0) return;
  const end = va + BigInt(n);
  for (let a = va; a < end; a = (a | 0xfffn) + 1n) {
    const [lo, hi] = lohi(a);
    cpu.store(lo, hi, 1, cpu.load(lo, hi, 1, 0), 0);
  }
  const [lo, hi] = lohi(end - 1n);
  cpu.store(lo, hi, 1, cpu.load(lo, hi, 1, 0), 0);
}
