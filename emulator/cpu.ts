// The CPU model: the fetch/decode/execute loop over a CpuState (cpu_state.ts holds the state and
// the operations instructions perform). Decoded ops are cached per physical page.

import { CpuState, FAST_MASK, type Stop, UNWIND } from "./cpu_state.ts";
import { Decoder, type Op } from "./decode.ts";
import { A64_TABLE } from "./insn/table.ts";
import { OFF_NZCV, OFF_PC } from "./cpu_layout.ts";
import { JitCache } from "./jit/cache.ts";
import type { JitStats } from "./jit/stats.ts";
import { COUNT_MASK, PC_IN_CPU } from "./jit/translate.ts";
import type { Page } from "./memory.ts";

export type { CpuOptions, Stop } from "./cpu_state.ts";


let sharedDecoder: Decoder | null = null;

function decoder(): Decoder {
  sharedDecoder ??= new Decoder(A64_TABLE, undefinedOp);
  return sharedDecoder;
}

function undefinedOp(word: number): Op {
  return { name: "UNDEFINED", word, exec: (cpu) => cpu.undefinedInstruction() };
}

/**
 * Instructions one call of a translated unit may retire before it returns to the dispatcher. V8
 * runs a new WebAssembly function in its baseline tier and switches to the optimised code only at
 * a later call, so a guest loop that never left its unit would stay on baseline code for the whole
 * run. About a millisecond of guest time per call costs nothing and lets the switch happen.
 */
const UNIT_SLICE = 1 << 20;

export class Cpu extends CpuState {
  readonly decoder = decoder();

  /** The machine's translated-code cache (engine "jit"). */
  private readonly jit: JitCache | null = this.engine === "jit" ? JitCache.of(this.mem, (page, slot) => this.opAt(page, slot), this.jitOptions) : null;
  private readonly host32 = new Int32Array(this.mem.host.buffer);

  /** The translator's counters (null under the interpreter). */
  jitStats(): JitStats | null {
    return this.jit === null ? null : { ...this.jit.stats };
  }

  /**
   * Run until `maxSteps` instructions retired, an exit to EL2, a breakpoint, or a debug stop.
   * A breakpoint at the current PC is not reported again before the first instruction runs.
   */
  run(maxSteps: number): Stop {
    if (this.el >= 2) throw new Error("CPU is at EL2 (exited to the host): call eretFromEl2() before run()");
    this.stopReason = null;
    const limit = this.steps + maxSteps;
    let first = true;
    while (true) {
      try {
        if (this.jit !== null && this.breakpoints.size === 0) {
          this.runTranslated(limit);
        } else if (this.breakpoints.size > 0) {
          while (this.steps < limit && this.stopReason === null) {
            if (!first && this.breakpoints.has(this.getPC())) return { kind: "breakpoint", pc: this.getPC() };
            first = false;
            this.step();
          }
        } else {
          while (this.steps < limit && this.stopReason === null) this.step();
        }
        return this.stopReason ?? { kind: "budget" };
      } catch (e) {
        this.unitUnwound();
        if (e !== UNWIND) throw e;
        first = false;
        if (this.stopReason) return this.stopReason;
      }
    }
  }

  /**
   * The translated engine's loop: at each block boundary, the unit for the PC's page if there is
   * one, else the interpreter up to the next branch. Translated code runs whole blocks only when
   * the budget holds them, so the count is the interpreter's to the instruction.
   */
  private runTranslated(limit: number): void {
    const jit = this.jit!;
    const h = this.host32;
    const base = this.stateBase;
    while (this.steps < limit && this.stopReason === null) {
      const lo = this.pcLo;
      const hi = this.pcHi;
      const page = this.fetchPage(lo, hi);
      const unit = this.il ? null : jit.lookup(page, hi * 1048576 + (lo >>> 12), lo, hi);
      if (unit === null) {
        this.interpretBlock(limit);
        continue;
      }
      h[(base + OFF_NZCV) >> 2] = this.nzcv();
      const running = jit.running;
      running.cpu = this;
      const steps0 = (running.steps0 = this.steps);
      const remaining = limit - steps0;
      running.inUnit = true;
      const r = unit.fn(base, remaining < UNIT_SLICE ? remaining : UNIT_SLICE, jit.entry);
      running.inUnit = false;
      const n = r & COUNT_MASK;
      this.steps = steps0 + n;
      jit.stats.jitInstructions += n;
      this.setNzcv(h[(base + OFF_NZCV) >> 2]!);
      if ((r & PC_IN_CPU) === 0) {
        this.pcLo = h[(base + OFF_PC) >> 2]! >>> 0;
        this.pcHi = h[(base + OFF_PC + 4) >> 2]! >>> 0;
      }
      // The budget ends inside the entry block: the interpreter finishes it.
      if (n === 0) {
        if (remaining <= UNIT_SLICE) while (this.steps < limit && this.stopReason === null) this.step();
        else this.interpretBlock(limit);
      }
    }
  }

  /** A handler called from a unit threw (an exception taken, a debug stop): count the unit's instructions. */
  private unitUnwound(): void {
    const running = this.jit?.running;
    if (running === undefined || !running.inUnit) return;
    running.inUnit = false;
    this.jit!.stats.jitInstructions += this.steps - running.steps0;
  }

  /** Interpret up to and including the next instruction that writes the PC (or leaves the page). */
  private interpretBlock(limit: number): void {
    do this.step();
    while (!this.pcWritten && this.steps < limit && (this.pcLo & 0xfff) !== 0 && this.stopReason === null);
  }

  /** The page the PC lo/hi fetches from: the fetch cache, else a translation (which may fault). */
  private fetchPage(lo: number, hi: number): Page {
    const i = (lo >>> 12) & FAST_MASK;
    if (this.xTag[i] === hi * 1048576 + (lo >>> 12) && (lo & 3) === 0) return this.xPage[i]!;
    return this.fetchSlow(lo, hi);
  }

  /** The decoded op at `slot` of `page`, through the page's decode cache. */
  private opAt(page: Page, slot: number): Op {
    let ops = page.ops as (Op | undefined)[] | null;
    if (ops === null) page.cacheOps((ops = new Array<Op | undefined>(1024)));
    let op = ops[slot];
    if (op === undefined) {
      op = ops[slot] = this.decoder.decode(page.dv.getUint32(slot << 2, true));
      page.markCode(slot << 2);
    }
    return op;
  }

  /** Execute one instruction (exceptions unwind with UNWIND; use run() from outside). */
  private step(): void {
    const lo = this.pcLo;
    const op = this.opAt(this.fetchPage(lo, this.pcHi), (lo & 0xfff) >>> 2);
    if (this.il) this.illegalState();
    this.pcWritten = false;
    this.steps++;
    op.exec(this, op);
    if (!this.pcWritten) this.advancePc();
  }
}
