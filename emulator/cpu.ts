// The CPU model: the fetch/decode/execute loop over a CpuState (cpu_state.ts holds the state and
// the operations instructions perform). Decoded ops are cached per physical page.

import { CpuState, FAST_MASK, type Stop, UNWIND } from "./cpu_state.ts";
import { Decoder, type Op } from "./decode.ts";
import { A64_TABLE } from "./insn/table.ts";
import type { JitStats } from "./jit/stats.ts";
import type { Page } from "./memory.ts";

export type { CpuOptions, Stop } from "./cpu_state.ts";

const TWO32 = 4294967296;

let sharedDecoder: Decoder | null = null;

function decoder(): Decoder {
  sharedDecoder ??= new Decoder(A64_TABLE, undefinedOp);
  return sharedDecoder;
}

function undefinedOp(word: number): Op {
  return { name: "UNDEFINED", word, exec: (cpu) => cpu.undefinedInstruction() };
}

export class Cpu extends CpuState {
  readonly decoder = decoder();

  /** The translator's counters (null under the interpreter). */
  jitStats(): JitStats | null {
    return null;
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
        if (this.breakpoints.size > 0) {
          while (this.steps < limit) {
            if (!first && this.breakpoints.has(this.getPC())) return { kind: "breakpoint", pc: this.getPC() };
            first = false;
            this.step();
          }
        } else {
          while (this.steps < limit) this.step();
        }
        return { kind: "budget" };
      } catch (e) {
        if (e !== UNWIND) throw e;
        first = false;
        if (this.stopReason) return this.stopReason;
      }
    }
  }

  /** Execute one instruction (exceptions unwind with UNWIND; use run() from outside). */
  private step(): void {
    const lo = this.pcLo;
    const hi = this.pcHi;
    const vpn = hi * 1048576 + (lo >>> 12);
    const i = (lo >>> 12) & FAST_MASK;
    let page: Page;
    if (this.xTag[i] === vpn && (lo & 3) === 0) page = this.xPage[i]!;
    else page = this.fetchSlow(lo, hi);
    const slot = (lo & 0xfff) >>> 2;
    let ops = page.ops as (Op | undefined)[] | null;
    if (ops === null) ops = page.ops = new Array<Op | undefined>(1024);
    let op = ops[slot];
    if (op === undefined) op = ops[slot] = this.decoder.decode(page.dv.getUint32(slot << 2, true));
    if (this.il) this.illegalState();
    this.pcWritten = false;
    this.steps++;
    op.exec(this, op);
    if (!this.pcWritten) {
      const n = this.pcLo + 4;
      if (n >= TWO32) {
        this.pcLo = n - TWO32;
        this.pcHi = (this.pcHi + 1) >>> 0;
      } else this.pcLo = n;
    }
  }
}
