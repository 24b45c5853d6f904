// The architectural state of one CPU (AArch64, EL0/EL1) and the operations instructions perform
// on it: register access, data accesses through the fast translation caches, exception entry and
// return. Instruction handlers take a CpuState; the fetch/decode/execute loop is `Cpu` (cpu.ts),
// which extends it, so the decode table sits between the two and no module imports its importer.
// EL2 is not executed: an exception that targets EL2 ends `run()` with an Exit, and the host resumes
// the guest with `eretFromEl2()` after editing the EL2 registers, as KVM would.
//
// Hot-path representation: 64-bit registers are pairs of unsigned 32-bit halves in one Uint32Array
// (slot i: lo at 2i, hi at 2i+1); the slot layout is in reg_slots.ts.

import { ACC_ALIGN, ACC_CM, ACC_UNPRIV } from "./access_flags.ts";
import { defaultEngine, type Engine } from "./engine.ts";
import type { JitOptions } from "./jit/cache.ts";
import { AccessKind, type Fault, FaultType, faultStatusCode } from "./fault.ts";
import { FastContexts, FastKind, TRANSLATION_REGS } from "./fast_context.ts";
import { EC, type Exit, ISS_CM, ISS_S1PTW, ISS_WNR, type SyncExceptionInfo, VECTOR, esr } from "./exception.ts";
import { PhysMemory, Page, PAGE_SIZE } from "./memory.ts";
import { mpidrOfIndex } from "./mpidr.ts";
import { CPU_STATE_FRAMES, FAST_SIZE, OFF_RTAG, OFF_ROFF, OFF_WOFF, OFF_WTAG, OFF_X, OFF_XTAG } from "./cpu_layout.ts";
import { Tlb } from "./mmu/tlb.ts";
import { translate } from "./mmu/translate.ts";
import { SP, ZR } from "./reg_slots.ts";
import type { Semihosting } from "./semihosting.ts";
import { SysRegFile, type SysRegName } from "./sysregs.ts";
import { hi32, join64, lo32, plus4, split64 } from "./types.ts";
import { HCR, hcr } from "./traps.ts";

/** Index mask of the direct-mapped fast translation caches (on the VA page number). */
export const FAST_MASK = FAST_SIZE - 1;
const WATCHED_SLOTS = 16;


/** Why `run()` returned. */
export type Stop =
  | { kind: "exit"; exit: Exit }
  | { kind: "budget" }
  | { kind: "breakpoint"; pc: bigint }
  /** An access reached a watched page (memory.ts PageWatch); the instruction completed. */
  | { kind: "watchpoint" }
  | { kind: "brk"; pc: bigint; imm: number }
  | { kind: "el1-exception"; esr: bigint; far: bigint; elr: bigint; vector: bigint }
  | { kind: "wfi"; pc: bigint }
  | { kind: "semihosting-exit"; reason: number; subcode: number; code: number };

/** Thrown (never as an Error) to unwind an instruction that took an exception or stopped the run. */
export const UNWIND = { unwind: true };

export interface CpuOptions {
  /** `brk #imm` stops the run (a debugger's breakpoint instruction) instead of vectoring. */
  stopOnBrk?: boolean;
  /** Exceptions to EL1 stop the run when VBAR_EL1 is still 0 (no vector table installed). */
  stopOnUnvectoredEl1?: boolean;
  /** WFI stops the run (nothing can wake the CPU in a single-CPU bare run). */
  stopOnWfi?: boolean;
  /** Index of this CPU (MPIDR_EL1.Aff1.Aff0, mpidr.ts). */
  index?: number;
  /** Serves `hlt #0xf000` at EL1 (semihosting.ts); null: HLT is UNDEFINED, as without QEMU's -semihosting. */
  semihosting?: Semihosting | null;
  /** Execution engine (engine.ts); default: NVLAB_ENGINE, else the translator. */
  engine?: Engine;
  /** The translator's cache bound and threshold (the machine's first CPU sets them). */
  jit?: JitOptions;
}

export class CpuState {
  /** General-purpose register file, in the slot layout of reg_slots.ts (in host memory, cpu_layout.ts). */
  readonly x: Uint32Array;
  /** The same slots as 64-bit values (the host memory is little-endian, as WebAssembly's is). */
  private readonly x64: BigUint64Array;
  /** Byte offset of this CPU's state block in the machine's host memory. */
  readonly stateBase: number;
  /** SIMD&FP registers V0..V31, 128 bits each as four little-endian words: Vn bits [32k+31:32k] at 4n+k. */
  readonly vregs = new Uint32Array(128);
  /** FPCR and FPSR (only the bits fp/fp_format.ts lists are ever set). */
  fpcr = 0;
  fpsr = 0;
  pcLo = 0;
  pcHi = 0;
  /** Set by handlers that write the PC; otherwise the loop advances by 4. */
  pcWritten = false;
  // PSTATE
  n = 0;
  z = 0;
  c = 0;
  v = 0;
  /** Exception level: 0 or 1 while executing; 2 after an exit until the host returns. */
  el = 1;
  /** The EL an exit to the host came from (eretFromEl2 returns through it). */
  private elBeforeExit = 1;
  spsel = 1;
  /** PSTATE.{D,A,I,F} as bits 3..0. */
  daif = 0xf;
  il = 0;

  readonly sr = new SysRegFile();
  readonly tlb = new Tlb();
  readonly index: number;

  /** Instructions retired since reset. */
  steps = 0;
  /** Scratch result of 64-bit loads (lo/hi). */
  tLo = 0;
  tHi = 0;
  /** Scratch result of 64-bit arithmetic helpers (lo/hi). */
  rLo = 0;
  rHi = 0;

  // Local exclusive monitor (PA-tagged).
  exclusiveValid = false;
  exclusivePa = 0;
  exclusiveSize = 0;

  readonly breakpoints = new Set<bigint>();
  readonly options: Required<Omit<CpuOptions, "index" | "engine" | "jit">>;
  readonly jitOptions: JitOptions;
  /** The engine that runs this CPU's guest code. */
  readonly engine: Engine;

  // Fast translation caches (a subset of the architectural TLB for the current context):
  // direct-mapped on the VA page, one per access kind; flushed on any context change or TLBI.
  private readonly rTag: Float64Array;
  private readonly wTag: Float64Array;
  protected readonly xTag: Float64Array;
  /** The fast caches' fill log and the contexts a world switch put aside (fast_context.ts). */
  private readonly fast: FastContexts;
  /** Host offsets of rPage/wPage, for translated code. */
  private readonly rOff: Int32Array;
  private readonly wOff: Int32Array;
  private readonly rPage: (Page | null)[] = new Array<Page | null>(FAST_SIZE).fill(null);
  /**
   * Translations of watched pages, which stay out of the fast caches (memory.ts PageWatch): VA page
   * → page, for reads and for writes, so an access to a watched page skips the walk but still
   * reaches physRead/physWrite. Dropped with the fast caches.
   */
  private readonly watchedRTag = new Float64Array(WATCHED_SLOTS).fill(-1);
  private readonly watchedWTag = new Float64Array(WATCHED_SLOTS).fill(-1);
  private readonly watchedRPage: (Page | null)[] = new Array<Page | null>(WATCHED_SLOTS).fill(null);
  private readonly watchedWPage: (Page | null)[] = new Array<Page | null>(WATCHED_SLOTS).fill(null);
  private watchedCached = false;
  private readonly wPage: (Page | null)[] = new Array<Page | null>(FAST_SIZE).fill(null);
  protected readonly xPage: (Page | null)[] = new Array<Page | null>(FAST_SIZE).fill(null);

  protected stopReason: Stop | null = null;

  constructor(
    readonly mem: PhysMemory,
    opts: CpuOptions = {},
  ) {
    this.index = opts.index ?? 0;
    const base = (this.stateBase = mem.allocHostFrames(CPU_STATE_FRAMES));
    const buf = mem.host.buffer;
    this.x = new Uint32Array(buf, base + OFF_X, 68);
    this.x64 = new BigUint64Array(buf, base + OFF_X, 34);
    this.rTag = new Float64Array(buf, base + OFF_RTAG, FAST_SIZE).fill(-1);
    this.wTag = new Float64Array(buf, base + OFF_WTAG, FAST_SIZE).fill(-1);
    this.xTag = new Float64Array(buf, base + OFF_XTAG, FAST_SIZE).fill(-1);
    this.rOff = new Int32Array(buf, base + OFF_ROFF, FAST_SIZE);
    this.wOff = new Int32Array(buf, base + OFF_WOFF, FAST_SIZE);
    this.fast = new FastContexts({
      tags: [this.rTag, this.wTag, this.xTag],
      pages: [this.rPage, this.wPage, this.xPage],
      offs: [this.rOff, this.wOff],
    });
    this.engine = opts.engine ?? defaultEngine();
    this.jitOptions = opts.jit ?? {};
    this.sr.VMPIDR_EL2 = mpidrOfIndex(this.index); // what EL1 reads as MPIDR_EL1
    this.options = {
      stopOnBrk: opts.stopOnBrk ?? false,
      stopOnUnvectoredEl1: opts.stopOnUnvectoredEl1 ?? false,
      stopOnWfi: opts.stopOnWfi ?? false,
      semihosting: opts.semihosting ?? null,
    };
    mem.onPageRemoved(() => this.flushFastTlb());
  }

  // ------------------------------------------------------------------ register API (bigint)

  /** X0..X30 (n = 31 reads as zero). */
  getX(n: number): bigint {
    return this.x64[n]!;
  }

  setX(n: number, value: bigint): void {
    if (n === ZR) return;
    this.x64[n] = value; // stored modulo 2^64
  }

  /** V0..V31 as 128-bit values. */
  getV(n: number): bigint {
    const b = 4 * n;
    return (join64(this.vregs[b + 2]!, this.vregs[b + 3]!) << 64n) | join64(this.vregs[b]!, this.vregs[b + 1]!);
  }

  setV(n: number, value: bigint): void {
    const b = 4 * n;
    const u = BigInt.asUintN(128, value);
    [this.vregs[b], this.vregs[b + 1]] = split64(u);
    [this.vregs[b + 2], this.vregs[b + 3]] = split64(u >> 64n);
  }

  getSP(): bigint {
    return this.getX(SP);
  }

  setSP(value: bigint): void {
    this.setX(SP, value);
  }

  getPC(): bigint {
    return join64(this.pcLo, this.pcHi);
  }

  /** PC += 4: the next instruction (after one that did not branch). */
  advancePc(): void {
    const n = this.pcLo + 4;
    if (n >= 4294967296) {
      this.pcLo = n - 4294967296;
      this.pcHi = (this.pcHi + 1) >>> 0;
    } else this.pcLo = n;
  }

  /** Set the PC (counts as a control-flow change for the current instruction). */
  setPc(value: bigint): void {
    const [lo, hi] = split64(value);
    this.pcLo = lo;
    this.pcHi = hi;
    this.pcWritten = true;
  }

  /** NZCV as bits 3..0. */
  nzcv(): number {
    return (this.n << 3) | (this.z << 2) | (this.c << 1) | this.v;
  }

  setNzcv(f: number): void {
    this.n = (f >> 3) & 1;
    this.z = (f >> 2) & 1;
    this.c = (f >> 1) & 1;
    this.v = f & 1;
  }

  /** PSTATE in SPSR format (AArch64). */
  pstate(): bigint {
    const m = (this.el << 2) | (this.el === 0 ? 0 : this.spsel);
    return BigInt(((this.nzcv() << 28) | (this.il << 20) | (this.daif << 6) | m) >>> 0);
  }

  /** Change EL and SPSel, banking the stack pointer. */
  setMode(el: number, spsel: number): void {
    const oldBank = this.el === 0 || this.spsel === 0 ? 0 : 1;
    const newBank = el === 0 || spsel === 0 ? 0 : 1;
    if (this.el !== el) this.switchFastContext();
    if (oldBank !== newBank) {
      const cur = this.getX(SP);
      if (oldBank === 0) this.sr.SP_EL0 = cur;
      else this.sr.SP_EL1 = cur;
      this.setX(SP, newBank === 0 ? this.sr.SP_EL0 : this.sr.SP_EL1);
    }
    this.el = el;
    this.spsel = el === 0 ? 0 : spsel;
  }

  /** SP_EL0 / SP_EL1 as they are now, whether banked or live in the SP slot. */
  readSpEl(el: 0 | 1): bigint {
    const live = this.el === 0 || this.spsel === 0 ? 0 : 1;
    if (live === el) return this.getX(SP);
    return el === 0 ? this.sr.SP_EL0 : this.sr.SP_EL1;
  }

  writeSpEl(el: 0 | 1, value: bigint): void {
    const live = this.el === 0 || this.spsel === 0 ? 0 : 1;
    if (live === el) this.setX(SP, value);
    else if (el === 0) this.sr.SP_EL0 = value;
    else this.sr.SP_EL1 = value;
  }

  /**
   * Write a system register from the host or an MSR, applying its side effects: registers that
   * shape translation (or select the VMID/ASID) drop the fast translation caches.
   */
  writeSysReg(name: SysRegName, value: bigint): void {
    this.sr[name] = BigInt.asUintN(64, value);
    if (TRANSLATION_REGS.has(name)) this.flushFastTlb();
  }

  /** Condition code check (C1.2.4). */
  condHolds(cond: number): boolean {
    let r: boolean;
    switch (cond >> 1) {
      case 0: r = this.z === 1; break;
      case 1: r = this.c === 1; break;
      case 2: r = this.n === 1; break;
      case 3: r = this.v === 1; break;
      case 4: r = this.c === 1 && this.z === 0; break;
      case 5: r = this.n === this.v; break;
      case 6: r = this.n === this.v && this.z === 0; break;
      default: r = true;
    }
    return (cond & 1) === 1 && cond !== 0xf ? !r : r;
  }

  /** Host-side reset of architectural state to the entry state of a bare EL1 program. */
  resetTo(pc: bigint, el: 0 | 1 = 1): void {
    this.x.fill(0);
    this.vregs.fill(0);
    this.fpcr = 0;
    this.fpsr = 0;
    this.el = 1;
    this.spsel = 1;
    this.setMode(el, el === 0 ? 0 : 1);
    this.daif = 0xf;
    this.il = 0;
    this.setNzcv(0);
    this.setPc(pc);
    this.flushFastTlb();
  }

  // ------------------------------------------------------------------ execution

  protected fetchSlow(lo: number, hi: number): Page {
    const i = (lo >>> 12) & FAST_MASK;
    const tag = hi * 1048576 + (lo >>> 12);
    if (this.fast.restorePending && this.fast.restore(this.el, this.sr) && this.xTag[i] === tag && (lo & 3) === 0) {
      return this.xPage[i]!;
    }
    const vaddr = join64(lo, hi);
    let page: Page | null = null;
    try {
      if (lo & 3) this.raiseSync(this.routeEl1(), { ec: EC.PC_ALIGN, iss: 0, far: vaddr });
      const t = translate(this, vaddr, AccessKind.Fetch, this.el === 0);
      if (!t.ok) this.abort(t.fault, vaddr, AccessKind.Fetch, 0, 0);
      page = this.mem.page(t.pa);
      if (!page) this.externalAbort(vaddr, AccessKind.Fetch);
    } catch (e) {
      // An exception taken inside the guest on a fetch retires no instruction, but it is a step:
      // a vector whose own fetch faults re-enters itself forever, and the step budget must end that.
      if (e === UNWIND && this.stopReason === null) this.steps++;
      throw e;
    }
    this.xTag[i] = tag;
    this.xPage[i] = page;
    this.fast.noteFill(FastKind.Fetch, i, this.el, this.sr);
    return page;
  }

  /** Drop every fast-path translation, kept contexts included (TLBI, host stage-2 change, a guest write of a translation register). */
  flushFastTlb(): void {
    this.fast.flush(false);
    if (this.watchedCached) this.dropWatched();
  }

  /**
   * A world switch loaded another translation context: drop the fast caches but keep what they held
   * for the old context, to be restored when a context with its exact key runs again.
   */
  switchFastContext(): void {
    this.fast.flush(true);
    if (this.watchedCached) this.dropWatched();
  }

  private dropWatched(): void {
    this.watchedRTag.fill(-1);
    this.watchedWTag.fill(-1);
    this.watchedCached = false;
  }

  /** Invalidate decoded instructions (host wrote code behind our back through another path). */
  flushDecodeCache(): void {
    this.flushFastTlb();
  }

  /** Resume the guest as an ERET at EL2 would: PC from ELR_EL2, PSTATE from SPSR_EL2. */
  eretFromEl2(): void {
    if (this.el !== 2) throw new Error("eretFromEl2: the CPU is not at EL2");
    const spsr = this.sr.SPSR_EL2;
    // Back at the EL the exit came from, so setMode drops the fast caches only if the return changes it.
    const illegal = isIllegalReturn(this, spsr, 2);
    if (!illegal) this.el = this.elBeforeExit;
    exceptionReturn(this, spsr, this.sr.ELR_EL2, 2, illegal);
  }

  // ------------------------------------------------------------------ exceptions

  /** Preferred return address: this instruction, or the next one. */
  preferredReturn(next: boolean): bigint {
    return next ? plus4(this.pcLo, this.pcHi) : join64(this.pcLo, this.pcHi);
  }

  /** Where an exception that would go to EL1 goes: EL2 from EL0 when HCR_EL2.TGE is set. */
  routeEl1(): 1 | 2 {
    return this.el === 0 && (this.sr.HCR_EL2 >> 27n) & 1n ? 2 : 1;
  }

  /** Take a synchronous exception to EL1 or EL2 and unwind the current instruction. */
  raiseSync(target: 1 | 2, info: SyncExceptionInfo): never {
    if (target === 2) {
      this.exitTo(info);
      throw UNWIND;
    }
    enterEl1(this, info);
    this.clearExclusive();
    if (this.options.stopOnUnvectoredEl1 && (this.sr.VBAR_EL1 & ~0x7ffn) === 0n) {
      this.stopReason = {
        kind: "el1-exception",
        esr: this.sr.ESR_EL1,
        far: this.sr.FAR_EL1,
        elr: this.sr.ELR_EL1,
        vector: this.getPC(),
      };
    }
    throw UNWIND;
  }

  /**
   * Take an exception to EL2 without unwinding (raiseSync(2) without the throw): the caller must
   * return from the instruction at once. The exits L0 sees most (HVC, trapped MSR/MRS/SYS, ERET,
   * WFx) take this path because a JavaScript throw costs microseconds, more than the rest of an exit.
   */
  exitToHost(info: SyncExceptionInfo): void {
    this.exitTo(info);
    this.pcWritten = true;
  }

  /**
   * The exit's bookkeeping. The fast translation caches are kept: the host does not translate
   * through them, and whatever it changes that shapes translation drops them itself (writeSysReg,
   * TLBI, the world switch's MMU load; a return to another EL in setMode).
   */
  private exitTo(info: SyncExceptionInfo): void {
    const exit = exitToEl2(this, info);
    this.elBeforeExit = this.el;
    this.el = 2;
    this.clearExclusive();
    this.stopReason = { kind: "exit", exit };
  }

  /**
   * End the run once the current instruction has completed (a watchpoint: the access is done, as
   * gdb expects). An exit or exception the instruction takes still wins.
   */
  requestStop(): void {
    this.stopReason ??= { kind: "watchpoint" };
  }

  /** A stop is pending: the run ends after the current instruction (translated code leaves its unit). */
  get stopping(): boolean {
    return this.stopReason !== null;
  }

  /** Stop the run without an exception (debug stops); the PC stays at the current instruction. */
  stopRun(stop: Stop): never {
    this.stopReason = stop;
    this.steps--; // the instruction did not complete
    this.pcWritten = true;
    throw UNWIND;
  }

  /** UNDEFINED instruction: EC 0x00 to EL1 (EL2 from EL0 with TGE). */
  undefinedInstruction(): never {
    this.raiseSync(this.routeEl1(), { ec: EC.UNKNOWN, iss: 0 });
  }

  protected illegalState(): never {
    this.steps++;
    this.raiseSync(this.routeEl1(), { ec: EC.ILLEGAL, iss: 0 });
  }

  /** Report a translation fault for an access as the architecture does (D8.15 / ESR ISS). */
  abort(f: Fault, vaddr: bigint, kind: AccessKind, iss: number, flags: number): never {
    const fetch = kind === AccessKind.Fetch;
    const fsc = faultStatusCode(f);
    const wnr = kind === AccessKind.Write || flags & ACC_CM ? ISS_WNR : 0;
    const cm = flags & ACC_CM ? ISS_CM : 0;
    if (f.stage === 2) {
      let s = fsc | (f.s1ptw ? ISS_S1PTW : 0);
      if (!fetch) s |= wnr | cm | (f.s1ptw ? 0 : iss);
      const hpfar = BigInt.asUintN(64, (f.ipa >> 12n) << 4n);
      this.raiseSync(2, { ec: fetch ? EC.IABT_LOW : EC.DABT_LOW, iss: s, far: vaddr, hpfar });
    }
    const target = this.routeEl1();
    const lower = this.el === 0;
    const ec = fetch ? (lower ? EC.IABT_LOW : EC.IABT_CUR) : lower ? EC.DABT_LOW : EC.DABT_CUR;
    const s = fetch ? fsc : fsc | wnr | cm;
    if (f.type === FaultType.Alignment && fetch) this.raiseSync(target, { ec: EC.PC_ALIGN, iss: 0, far: vaddr });
    this.raiseSync(target, { ec, iss: s, far: vaddr });
  }

  private externalAbort(vaddr: bigint, kind: AccessKind): never {
    this.abort({ type: FaultType.ExternalAbort, stage: 1, level: 0, s1ptw: false, ipa: 0n }, vaddr, kind, 0, 0);
  }

  // ------------------------------------------------------------------ data access

  /** Load 1, 2 or 4 bytes (zero-extended). `iss` is the ISV syndrome template for stage-2 aborts. */
  load(lo: number, hi: number, size: 1 | 2 | 4, iss: number, flags = 0): number {
    const i = (lo >>> 12) & FAST_MASK;
    if (flags === 0 && (lo & (size - 1)) === 0 && this.rTag[i] === hi * 1048576 + (lo >>> 12)) {
      const p = this.rPage[i]!;
      const off = lo & 0xfff;
      return size === 4 ? p.dv.getUint32(off, true) : size === 1 ? p.u8[off]! : p.dv.getUint16(off, true);
    }
    return Number(this.accessSlow(lo, hi, size, AccessKind.Read, iss, flags, 0n));
  }

  /** Load 8 bytes into tLo/tHi. */
  load64(lo: number, hi: number, iss: number, flags = 0): void {
    const i = (lo >>> 12) & FAST_MASK;
    if (flags === 0 && (lo & 7) === 0 && this.rTag[i] === hi * 1048576 + (lo >>> 12)) {
      const dv = this.rPage[i]!.dv;
      const off = lo & 0xfff;
      this.tLo = dv.getUint32(off, true);
      this.tHi = dv.getUint32(off + 4, true);
      return;
    }
    const v = this.accessSlow(lo, hi, 8, AccessKind.Read, iss, flags, 0n);
    this.tLo = lo32(v);
    this.tHi = hi32(v);
  }

  /** Store 1, 2 or 4 bytes from `value` (low bits). */
  store(lo: number, hi: number, size: 1 | 2 | 4, value: number, iss: number, flags = 0): void {
    const i = (lo >>> 12) & FAST_MASK;
    if (flags === 0 && (lo & (size - 1)) === 0 && this.wTag[i] === hi * 1048576 + (lo >>> 12)) {
      const p = this.wPage[i]!;
      const off = lo & 0xfff;
      if (p.divert) p.written(off, size, this, lo, hi);
      if (size === 4) p.dv.setUint32(off, value >>> 0, true);
      else if (size === 1) p.u8[off] = value;
      else p.dv.setUint16(off, value & 0xffff, true);
      return;
    }
    this.accessSlow(lo, hi, size, AccessKind.Write, iss, flags, BigInt(value >>> 0) & ((1n << BigInt(size * 8)) - 1n));
  }

  store64(lo: number, hi: number, vLo: number, vHi: number, iss: number, flags = 0): void {
    const i = (lo >>> 12) & FAST_MASK;
    if (flags === 0 && (lo & 7) === 0 && this.wTag[i] === hi * 1048576 + (lo >>> 12)) {
      const p = this.wPage[i]!;
      const off = lo & 0xfff;
      if (p.divert) p.written(off, 8, this, lo, hi);
      p.dv.setUint32(off, vLo >>> 0, true);
      p.dv.setUint32(off + 4, vHi >>> 0, true);
      return;
    }
    this.accessSlow(lo, hi, 8, AccessKind.Write, iss, flags, join64(vLo, vHi));
  }

  clearExclusive(): void {
    this.exclusiveValid = false;
  }

  /** Translate a data access to a PA, raising the architectural fault on failure. */
  translateData(vaddr: bigint, kind: AccessKind, iss: number, flags: number): { pa: number; device: boolean } {
    const t = translate(this, vaddr, kind, this.el === 0 || (flags & ACC_UNPRIV) !== 0);
    if (!t.ok) this.abort(t.fault, vaddr, kind, iss, flags);
    return t;
  }

  private accessSlow(lo: number, hi: number, size: number, kind: AccessKind, iss: number, flags: number, value: bigint): bigint {
    const aligned = (lo & (size - 1)) === 0;
    if (this.watchedCached && flags === 0 && aligned) {
      const j = (lo >>> 12) & (WATCHED_SLOTS - 1);
      const tag = hi * 1048576 + (lo >>> 12);
      const page = kind === AccessKind.Read ? (this.watchedRTag[j] === tag ? this.watchedRPage[j]! : null) : this.watchedWTag[j] === tag ? this.watchedWPage[j]! : null;
      if (page !== null && page.watch !== null) {
        const pa = page.pfn * PAGE_SIZE + (lo & 0xfff);
        if (kind === AccessKind.Read) return this.physRead(pa, size, join64(lo, hi), kind);
        this.physWrite(pa, size, value, join64(lo, hi));
        return 0n;
      }
    }
    const vaddr = join64(lo, hi);
    if (this.fast.restorePending && this.fast.restore(this.el, this.sr) && flags === 0 && aligned) {
      // The first miss after a world switch brought the context's entries back: retry them.
      const i = (lo >>> 12) & FAST_MASK;
      const tag = hi * 1048576 + (lo >>> 12);
      const page = kind === AccessKind.Read ? (this.rTag[i] === tag ? this.rPage[i] : null) : this.wTag[i] === tag ? this.wPage[i] : null;
      if (page) {
        const pa = page.pfn * PAGE_SIZE + (lo & 0xfff);
        if (kind === AccessKind.Read) return this.physRead(pa, size, vaddr, kind);
        this.physWrite(pa, size, value, vaddr);
        return 0n;
      }
    }
    if (!aligned && (flags & ACC_ALIGN || (this.sr.SCTLR_EL1 & 2n) !== 0n)) {
      this.abort({ type: FaultType.Alignment, stage: 1, level: 0, s1ptw: false, ipa: 0n }, vaddr, kind, 0, flags);
    }
    if ((lo & 0xfff) + size > PAGE_SIZE) {
      // Crosses a page: every byte is translated on its own (both pages must be accessible).
      const pas: number[] = [];
      for (let b = 0; b < size; b++) {
        const [blo, bhi] = split64(vaddr + BigInt(b));
        pas.push(this.translateData(join64(blo, bhi), kind, iss, flags).pa);
      }
      if (kind === AccessKind.Read) {
        let v = 0n;
        for (const pa of pas.slice().reverse()) v = (v << 8n) | this.physRead(pa, 1, vaddr, kind);
        return v;
      }
      // Nothing is written unless every byte has memory or a device behind it.
      for (const p of pas) if (!this.mem.page(p) && !this.mem.mmioAt(p)) this.externalAbort(vaddr, kind);
      for (const [b, pa] of pas.entries()) this.physWrite(pa, 1, (value >> BigInt(8 * b)) & 0xffn, vaddr);
      return 0n;
    }
    const t = this.translateData(vaddr, kind, iss, flags);
    if (!aligned && t.device) {
      this.abort({ type: FaultType.Alignment, stage: 1, level: 0, s1ptw: false, ipa: 0n }, vaddr, kind, 0, flags);
    }
    const page = this.mem.page(t.pa);
    // A watched page stays out of the fast caches: every access to it comes back here.
    if (page && page.watch !== null && flags === 0 && aligned) this.cacheWatched(lo, hi, kind, page);
    else if (page && page.watch === null && (flags & ACC_UNPRIV) === 0) {
      const i = (lo >>> 12) & FAST_MASK;
      const tag = hi * 1048576 + (lo >>> 12);
      if (kind === AccessKind.Read) {
        this.rTag[i] = tag;
        this.rPage[i] = page;
        this.rOff[i] = page.off;
        this.fast.noteFill(FastKind.Read, i, this.el, this.sr);
      } else {
        this.wTag[i] = tag;
        this.wPage[i] = page;
        this.wOff[i] = page.off;
        this.fast.noteFill(FastKind.Write, i, this.el, this.sr);
      }
    }
    if (kind === AccessKind.Read) return this.physRead(t.pa, size, vaddr, kind);
    this.physWrite(t.pa, size, value, vaddr);
    return 0n;
  }

  private cacheWatched(lo: number, hi: number, kind: AccessKind, page: Page): void {
    const j = (lo >>> 12) & (WATCHED_SLOTS - 1);
    const tag = hi * 1048576 + (lo >>> 12);
    if (kind === AccessKind.Read) {
      this.watchedRTag[j] = tag;
      this.watchedRPage[j] = page;
    } else {
      this.watchedWTag[j] = tag;
      this.watchedWPage[j] = page;
    }
    this.watchedCached = true;
  }

  private physRead(paNum: number, size: number, vaddr: bigint, kind: AccessKind): bigint {
    const page = this.mem.page(paNum);
    if (page) {
      const off = paNum & 0xfff;
      if (page.watch !== null) page.watch.access(page, off, size, false, this, vaddr);
      switch (size) {
        case 1: return BigInt(page.dv.getUint8(off));
        case 2: return BigInt(page.dv.getUint16(off, true));
        case 4: return BigInt(page.dv.getUint32(off, true));
        default: return page.dv.getBigUint64(off, true);
      }
    }
    const r = this.mem.mmioAt(paNum);
    if (r) return BigInt.asUintN(size * 8, r.handler.read(paNum - r.base, size));
    this.externalAbort(vaddr, kind);
  }

  private physWrite(paNum: number, size: number, value: bigint, vaddr: bigint): void {
    const page = this.mem.page(paNum);
    if (page) {
      const off = paNum & 0xfff;
      if (page.watch !== null) page.watch.access(page, off, size, true, this, vaddr);
      page.written(off, size, this, lo32(vaddr), hi32(vaddr));
      switch (size) {
        case 1: page.u8[off] = Number(value & 0xffn); return;
        case 2: page.dv.setUint16(off, Number(value & 0xffffn), true); return;
        case 4: page.dv.setUint32(off, Number(value & 0xffffffffn), true); return;
        default: page.dv.setBigUint64(off, BigInt.asUintN(64, value), true); return;
      }
    }
    const r = this.mem.mmioAt(paNum);
    if (r) return r.handler.write(paNum - r.base, size, BigInt.asUintN(size * 8, value));
    this.externalAbort(vaddr, AccessKind.Write);
  }

  /** Mark the local exclusive monitor for a load-exclusive at `vaddr` (translated). */
  markExclusive(vaddr: bigint, size: number): void {
    const t = this.translateData(vaddr, AccessKind.Read, 0, ACC_ALIGN);
    this.exclusiveValid = true;
    this.exclusivePa = t.pa;
    this.exclusiveSize = size;
  }

  /** Store-exclusive check: true (and monitor cleared) when the monitor covers `vaddr`. */
  checkExclusive(vaddr: bigint, size: number): boolean {
    const t = this.translateData(vaddr, AccessKind.Write, 0, ACC_ALIGN);
    const ok = this.exclusiveValid && this.exclusivePa === t.pa && this.exclusiveSize === size;
    this.exclusiveValid = false;
    return ok;
  }
}

// ------------------------------------------------------------------ exception entry and return

/** The vector offset group for an exception taken to EL1 from the current state. */
function vectorGroup(cpu: CpuState): number {
  if (cpu.el === 0) return VECTOR.LOWER_A64;
  return cpu.spsel ? VECTOR.CUR_SPX : VECTOR.CUR_SP0;
}

/** Synchronous exception entry to EL1 (D1.4.2). */
export function enterEl1(cpu: CpuState, info: SyncExceptionInfo, vectorType: number = VECTOR.SYNC): void {
  const sr = cpu.sr;
  let spsr = cpu.pstate();
  // FEAT_NV: with {NV,NV1} = {1,0} an exception EL1 -> EL1 records EL2 in SPSR_EL1.M[3:2].
  const hcr = sr.HCR_EL2;
  if (cpu.el === 1 && (hcr >> 42n) & 1n && !((hcr >> 43n) & 1n)) spsr = (spsr & ~0xcn) | 0x8n;
  sr.SPSR_EL1 = spsr;
  sr.ELR_EL1 = cpu.preferredReturn(info.returnNext ?? false);
  if (vectorType === VECTOR.SYNC) sr.ESR_EL1 = esr(info.ec, info.iss);
  if (info.far !== undefined) sr.FAR_EL1 = info.far;
  const offset = BigInt(vectorGroup(cpu) + vectorType);
  cpu.setMode(1, 1);
  cpu.daif = 0xf;
  cpu.il = 0;
  cpu.setPc(BigInt.asUintN(64, (sr.VBAR_EL1 & ~0x7ffn) + offset));
}

/** Synchronous exception to EL2: record the EL2 syndrome state and build the Exit for the host. */
export function exitToEl2(cpu: CpuState, info: SyncExceptionInfo): Exit {
  const sr = cpu.sr;
  sr.SPSR_EL2 = cpu.pstate();
  sr.ELR_EL2 = cpu.preferredReturn(info.returnNext ?? false);
  sr.ESR_EL2 = esr(info.ec, info.iss);
  if (info.far !== undefined) sr.FAR_EL2 = info.far;
  if (info.hpfar !== undefined) sr.HPFAR_EL2 = info.hpfar;
  return { esr: sr.ESR_EL2, ec: info.ec, far: sr.FAR_EL2, hpfar: sr.HPFAR_EL2, elr: sr.ELR_EL2, spsr: sr.SPSR_EL2 };
}

/** Whether an exception return to `spsr` is illegal from the current EL (D1.5.2 rules we model). */
export function isIllegalReturn(cpu: CpuState, spsr: bigint, fromEl: number): boolean {
  const m = lo32(spsr) & 0x1f;
  if (m & 0x10) return true; // AArch32 is not implemented
  if (m & 0x2) return true; // M[1] must be 0
  const target = (m >> 2) & 3;
  if (target > fromEl) return true;
  if (target === 3) return true; // no EL3
  if (target === 0 && m & 1) return true; // EL0 has only SP_EL0
  if (target === 1 && fromEl === 2 && hcr(cpu, HCR.TGE)) return true; // EL1 unusable
  return false;
}

/**
 * Exception return from `fromEl` using `spsr`/`elr` (ERET at EL1, or the host's return from EL2).
 * An illegal return keeps the EL, copies the flags and sets PSTATE.IL (D1.5.2).
 */
export function exceptionReturn(cpu: CpuState, spsr: bigint, elr: bigint, fromEl: number, illegal = isIllegalReturn(cpu, spsr, fromEl)): void {
  cpu.clearExclusive();
  // Every field used lives in SPSR[31:0]: one conversion, then number arithmetic (this is on every exit's return).
  const s = lo32(spsr);
  if (illegal) {
    cpu.setNzcv(s >>> 28);
    cpu.daif = (s >>> 6) & 0xf;
    cpu.il = 1;
  } else {
    const m = s & 0xf;
    cpu.setMode(m >> 2, m & 1);
    cpu.setNzcv(s >>> 28);
    cpu.daif = (s >>> 6) & 0xf;
    cpu.il = (s >>> 20) & 1;
  }
  // Returning to EL0 the PC is 64-bit as-is; to EL1 likewise (no AArch32).
  cpu.pcLo = lo32(elr);
  cpu.pcHi = hi32(elr);
  cpu.pcWritten = true;
}
