// unicorn-engine (2.x, native libunicorn) as an in-process reference CPU for differential tests
// and the CPU benchmark, bound with koffi.
//
// What the reference machine looks like (measured with libunicorn 2.0.1, see test/lab/oracle/unicorn.test.ts):
// - arm64 code runs at EL1 with SPSel=1 (CurrentEL reads 0b0100, PSTATE 0x3c5: EL1h, DAIF masked),
//   so the `SP` register is SP_EL1 — the same state nvlab's `Cpu.resetTo()` gives.
// - The MMU is off (SCTLR_EL1 reads 0x00c50838: M=0, A=0), so VA = PA and every mapped region is
//   flat. SCTLR_EL1.SA is 1, but SP alignment is not checked.
// - Unaligned ordinary loads/stores do not fault, although with the MMU off data accesses are
//   Device memory and the architecture requires an Alignment fault. Exclusives (LDXR) still fault
//   when unaligned. Differential tests therefore keep every access naturally aligned.
// - NZCV is read and written in its PSTATE position (bits 31:28), not as bits 3:0.
// - An exception (UNDEFINED, alignment...) ends uc_emu_start with UC_ERR_EXCEPTION and the PC at
//   the faulting instruction; an access to unmapped memory ends it with UC_ERR_READ/WRITE_UNMAPPED.
// - uc_mem_write does not reliably drop translated blocks of code that already ran: rewritten code
//   may run stale translations. `writeCode` writes and then invalidates the range (uc_ctl
//   UC_CTL_TB_REMOVE_CACHE), which is cheap, unlike a whole UC_CTL_TB_FLUSH.

import * as koffi from "koffi";

export const UC_ARCH_ARM64 = 2;
export const UC_MODE_ARM = 0; // little endian
export const UC_PROT_ALL = 7;
export const UC_ERR_OK = 0;
export const UC_ERR_EXCEPTION = 21;

// uc_ctl control words: UC_CTL_WRITE(type, nargs) = 1 << 30 | nargs << 26 | type.
const UC_CTL_TB_REMOVE_CACHE = 9;
const UC_CTL_WRITE_REMOVE_CACHE = ((1 << 30) | (2 << 26) | UC_CTL_TB_REMOVE_CACHE) >>> 0;

/** Register ids from unicorn 2's include/unicorn/arm64.h (enum uc_arm64_reg). */
export const UC_ARM64_REG = {
  X29: 1,
  X30: 2,
  NZCV: 3,
  SP: 4,
  /** X0..X28 are consecutive from here. */
  X0: 199,
  PC: 260,
  PSTATE: 265,
} as const;

/** Id of Xn (n = 0..30). */
export function xRegId(n: number): number {
  if (n < 0 || n > 30) throw new RangeError(`X${n} is not a general-purpose register`);
  if (n === 29) return UC_ARM64_REG.X29;
  if (n === 30) return UC_ARM64_REG.X30;
  return UC_ARM64_REG.X0 + n;
}

/** The shared libraries tried, in order; NVLAB_UNICORN_LIB (a path or name) replaces the defaults. */
export function libraryCandidates(): string[] {
  const env = process.env.NVLAB_UNICORN_LIB;
  return env ? [env] : ["libunicorn.so.2", "libunicorn.so"];
}

type Handle = unknown;

interface Api {
  version: (major: null, minor: null) => number;
  open: (arch: number, mode: number, out: Handle[]) => number;
  close: (uc: Handle) => number;
  memMap: (uc: Handle, address: bigint, size: number, perms: number) => number;
  memWrite: (uc: Handle, address: bigint, bytes: Uint8Array, size: number) => number;
  memRead: (uc: Handle, address: bigint, bytes: Uint8Array, size: number) => number;
  regWrite: (uc: Handle, regid: number, value: BigUint64Array) => number;
  regRead: (uc: Handle, regid: number, value: BigUint64Array) => number;
  emuStart: (uc: Handle, begin: bigint, until: bigint, timeout: bigint, count: number) => number;
  emuStop: (uc: Handle) => number;
  ctl: (uc: Handle, control: number, ...typedArgs: unknown[]) => number;
  strerror: (code: number) => string;
}

let api: Api | null = null;
let loadError: string | null = null;

let typesDeclared = false;

function bind(lib: koffi.LibraryHandle): Api {
  if (!typesDeclared) {
    koffi.opaque("uc_engine");
    typesDeclared = true;
  }
  const f = (decl: string) => lib.func(decl) as (...args: never[]) => unknown;
  return {
    version: f("unsigned int uc_version(unsigned int *major, unsigned int *minor)") as Api["version"],
    open: f("int uc_open(int arch, int mode, _Out_ uc_engine **uc)") as Api["open"],
    close: f("int uc_close(uc_engine *uc)") as Api["close"],
    memMap: f("int uc_mem_map(uc_engine *uc, uint64_t address, size_t size, uint32_t perms)") as Api["memMap"],
    memWrite: f("int uc_mem_write(uc_engine *uc, uint64_t address, const void *bytes, size_t size)") as Api["memWrite"],
    memRead: f("int uc_mem_read(uc_engine *uc, uint64_t address, _Out_ void *bytes, size_t size)") as Api["memRead"],
    regWrite: f("int uc_reg_write(uc_engine *uc, int regid, const void *value)") as Api["regWrite"],
    regRead: f("int uc_reg_read(uc_engine *uc, int regid, _Out_ void *value)") as Api["regRead"],
    emuStart: f(
      "int uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)",
    ) as Api["emuStart"],
    emuStop: f("int uc_emu_stop(uc_engine *uc)") as Api["emuStop"],
    ctl: f("int uc_ctl(uc_engine *uc, int control, ...)") as Api["ctl"],
    strerror: f("const char *uc_strerror(int code)") as Api["strerror"],
  };
}

function loadApi(): Api | null {
  if (api || loadError) return api;
  const errors: string[] = [];
  for (const name of libraryCandidates()) {
    try {
      const bound = bind(koffi.load(name));
      const v = bound.version(null, null);
      // Unicorn 2 packs major.minor.patch.extra into bytes 3..0; unicorn 1 had (major << 8) | minor.
      if (v >>> 24 < 2) {
        errors.push(`${name}: version 0x${v.toString(16)} (need unicorn 2)`);
        continue;
      }
      api = bound;
      return api;
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
    }
  }
  loadError = `cannot load unicorn-engine (install Debian's libunicorn2): ${errors.join("; ")}`;
  return null;
}

/** Whether the native library can be loaded and an arm64 engine opened. */
export function unicornAvailable(): { ok: true } | { ok: false; reason: string } {
  const a = loadApi();
  if (!a) return { ok: false, reason: loadError! };
  const out: Handle[] = [null];
  const err = a.open(UC_ARCH_ARM64, UC_MODE_ARM, out);
  if (err !== UC_ERR_OK) return { ok: false, reason: `uc_open(ARM64): ${a.strerror(err)}` };
  a.close(out[0]);
  return { ok: true };
}

/** Library version as "major.minor.patch". */
export function unicornVersion(): string {
  const a = loadApi();
  if (!a) throw new UnicornError(-1, loadError!);
  const v = a.version(null, null);
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}`;
}

export class UnicornError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "UnicornError";
  }
}

/** One arm64 unicorn engine. Values are bigint; NZCV is exchanged as bits 3..0 like `Cpu.nzcv()`. */
export class Unicorn {
  private readonly api: Api;
  private handle: Handle;
  private readonly cell = new BigUint64Array(1);

  constructor() {
    const a = loadApi();
    if (!a) throw new UnicornError(-1, loadError!);
    this.api = a;
    const out: Handle[] = [null];
    this.check(a.open(UC_ARCH_ARM64, UC_MODE_ARM, out), "uc_open");
    this.handle = out[0];
  }

  private check(err: number, what: string): void {
    if (err !== UC_ERR_OK) throw new UnicornError(err, `${what}: ${this.api.strerror(err)}`);
  }

  close(): void {
    if (this.handle === null) return;
    this.check(this.api.close(this.handle), "uc_close");
    this.handle = null;
  }

  memMap(address: bigint, size: number, perms = UC_PROT_ALL): void {
    this.check(this.api.memMap(this.handle, address, size, perms), `uc_mem_map(0x${address.toString(16)})`);
  }

  memWrite(address: bigint, bytes: Uint8Array): void {
    this.check(this.api.memWrite(this.handle, address, bytes, bytes.length), `uc_mem_write(0x${address.toString(16)})`);
  }

  /** Write code and drop any translation of that range, so the new instructions are what runs. */
  writeCode(address: bigint, bytes: Uint8Array): void {
    this.memWrite(address, bytes);
    this.invalidateCode(address, address + BigInt(bytes.length));
  }

  /** Drop translated blocks covering [begin, end). */
  invalidateCode(begin: bigint, end: bigint): void {
    const err = this.api.ctl(this.handle, UC_CTL_WRITE_REMOVE_CACHE, "uint64_t", begin, "uint64_t", end);
    this.check(err, "uc_ctl(UC_CTL_TB_REMOVE_CACHE)");
  }

  /** Read into `into` (or a new buffer of `size` bytes). */
  memRead(address: bigint, size: number, into = new Uint8Array(size)): Uint8Array {
    this.check(this.api.memRead(this.handle, address, into, size), `uc_mem_read(0x${address.toString(16)})`);
    return into;
  }

  regWrite(id: number, value: bigint): void {
    this.cell[0] = BigInt.asUintN(64, value);
    this.check(this.api.regWrite(this.handle, id, this.cell), `uc_reg_write(${id})`);
  }

  regRead(id: number): bigint {
    this.check(this.api.regRead(this.handle, id, this.cell), `uc_reg_read(${id})`);
    return this.cell[0]!;
  }

  getX(n: number): bigint {
    return this.regRead(xRegId(n));
  }

  setX(n: number, value: bigint): void {
    this.regWrite(xRegId(n), value);
  }

  getSP(): bigint {
    return this.regRead(UC_ARM64_REG.SP);
  }

  setSP(value: bigint): void {
    this.regWrite(UC_ARM64_REG.SP, value);
  }

  getPC(): bigint {
    return this.regRead(UC_ARM64_REG.PC);
  }

  setPC(value: bigint): void {
    this.regWrite(UC_ARM64_REG.PC, value);
  }

  /** NZCV as bits 3..0. */
  nzcv(): number {
    return Number((this.regRead(UC_ARM64_REG.NZCV) >> 28n) & 0xfn);
  }

  setNzcv(f: number): void {
    this.regWrite(UC_ARM64_REG.NZCV, BigInt(f & 0xf) << 28n);
  }

  /**
   * Run from `begin` until the PC reaches `until` (that instruction is not executed), `count`
   * instructions ran (0 = no limit) or `timeoutUs` passed (0 = none). Returns the uc_err code
   * (0 = OK); `UC_ERR_EXCEPTION` etc. are results, not thrown.
   */
  emuStart(begin: bigint, until: bigint, count = 0, timeoutUs = 0n): number {
    return this.api.emuStart(this.handle, begin, until, timeoutUs, count);
  }

  /** `emuStart`, throwing a UnicornError unless it ended normally. */
  run(begin: bigint, until: bigint, count = 0): void {
    this.check(this.emuStart(begin, until, count), `uc_emu_start(0x${begin.toString(16)})`);
  }

  emuStop(): void {
    this.check(this.api.emuStop(this.handle), "uc_emu_stop");
  }

  strerror(code: number): string {
    return this.api.strerror(code);
  }
}
