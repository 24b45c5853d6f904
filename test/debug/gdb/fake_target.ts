// An in-memory GdbTarget for the stub's tests: a page of memory, a register file, a "CPU" that
// advances pc by 4 per step, breakpoints, an exit address and a level switch address, and a
// history of (pc, level) per step to go back through.

import type { TargetRegisters } from "../../../debug/gdb/registers.ts";
import { SIGINT, SIGTRAP, type GdbTarget, type TargetStop } from "../../../debug/gdb/target.ts";
import { PacketDecoder, frame, type Incoming } from "../../../debug/gdb/packet.ts";
import { GdbStub, type StubOptions } from "../../../debug/gdb/stub.ts";

export const MEM_BASE = 0x4000_0000n;
export const MEM_SIZE = 0x2000;

export class FakeTarget implements GdbTarget {
  x: bigint[] = Array.from({ length: 31 }, (_v, i) => BigInt(i) * 0x100n);
  sp = 0x4000_1ff0n;
  pc = MEM_BASE;
  cpsr = 0x3c5n;
  level: "L1" | "L2" = "L2";
  sys: Record<string, bigint> = { HCR_EL2: 0x8000_0001n, VTTBR_EL2: 0x1_0000_4400_0000n, SCTLR_EL1: 0x30d0_0800n };
  mem = new Uint8Array(MEM_SIZE);
  breaks = new Set<bigint>();
  /** Reaching this pc (or running outside memory) powers the machine off with code `exitCode`. */
  exitAt: bigint | null = null;
  exitCode = 7;
  /** Reaching this pc switches to L1. */
  switchAt: bigint | null = null;
  exited = false;
  steps = 0;
  monitorLog: string[] = [];
  /** Where each step so far started: going back pops it. */
  history: { pc: bigint; level: "L1" | "L2" }[] = [];
  restarts = 0;

  haltReason(): TargetStop {
    return this.exited ? { kind: "exited", code: this.exitCode } : { kind: "signal", signal: SIGTRAP, level: this.level };
  }

  registers(): TargetRegisters {
    return { x: [...this.x], sp: this.sp, pc: this.pc, cpsr: this.cpsr, level: this.level, sys: { ...this.sys } };
  }

  setRegister(name: string, v: bigint): void {
    const m = /^x(\d+)$/.exec(name);
    if (m) this.x[Number(m[1])] = v;
    else if (name === "sp") this.sp = v;
    else if (name === "pc") this.pc = v;
    else if (name === "cpsr") this.cpsr = v;
    else throw new Error(`no register ${name}`);
  }

  private offset(addr: bigint, len: number): number {
    if (addr < MEM_BASE || addr + BigInt(len) > MEM_BASE + BigInt(MEM_SIZE)) throw new Error(`unmapped: ${addr.toString(16)}`);
    return Number(addr - MEM_BASE);
  }

  readMemory(addr: bigint, len: number): Uint8Array {
    const o = this.offset(addr, len);
    return this.mem.slice(o, o + len);
  }

  writeMemory(addr: bigint, bytes: Uint8Array): void {
    this.mem.set(bytes, this.offset(addr, bytes.length));
  }

  private advance(): TargetStop | null {
    this.history.push({ pc: this.pc, level: this.level });
    this.pc += 4n;
    this.steps++;
    if (this.exitAt !== null && (this.pc >= this.exitAt || this.pc < MEM_BASE)) {
      this.exited = true;
      return { kind: "exited", code: this.exitCode, message: "system off" };
    }
    if (this.pc === this.switchAt) {
      this.level = "L1";
      return { kind: "signal", signal: SIGTRAP, level: "L1", message: "now in L1" };
    }
    return null;
  }

  step(): TargetStop {
    return this.advance() ?? { kind: "signal", signal: SIGTRAP, level: this.level };
  }

  async resume(signal: AbortSignal): Promise<TargetStop> {
    for (;;) {
      for (let i = 0; i < 1000; i++) {
        const s = this.advance();
        if (s?.kind === "exited") return s;
        if (this.breaks.has(this.pc)) return { kind: "signal", signal: SIGTRAP, swbreak: true, level: this.level, message: `breakpoint at ${this.pc.toString(16)}` };
      }
      await new Promise((r) => setImmediate(r));
      if (signal.aborted) return { kind: "signal", signal: SIGINT, level: this.level, message: "interrupted" };
    }
  }

  private back(): boolean {
    const h = this.history.pop();
    if (!h) return false;
    this.pc = h.pc;
    this.level = h.level;
    this.steps--;
    this.exited = false;
    return true;
  }

  private historyStart(): TargetStop {
    return { kind: "signal", signal: SIGTRAP, level: this.level, historyStart: true, message: "at the start" };
  }

  reverseStep(): TargetStop {
    return this.back() ? { kind: "signal", signal: SIGTRAP, level: this.level, message: `back to ${this.pc.toString(16)}` } : this.historyStart();
  }

  reverseContinue(): TargetStop {
    while (this.back()) {
      if (this.breaks.has(this.pc)) return { kind: "signal", signal: SIGTRAP, swbreak: true, level: this.level, message: `breakpoint at ${this.pc.toString(16)}` };
    }
    return this.historyStart();
  }

  restart(): TargetStop {
    while (this.back());
    this.restarts++;
    return { kind: "signal", signal: SIGTRAP, level: this.level, message: "restarted" };
  }

  insertBreakpoint(addr: bigint): void {
    if (addr % 4n !== 0n) throw new Error("misaligned");
    this.breaks.add(addr);
  }

  removeBreakpoint(addr: bigint): void {
    this.breaks.delete(addr);
  }

  monitor(command: string): string {
    this.monitorLog.push(command);
    if (command === "level") return `${this.level}\n`;
    if (command === "quiet") return "";
    throw new Error(`unknown monitor command '${command}'`);
  }

  threadName(): string {
    return `vCPU 0 (${this.level})`;
  }
}

/** gdb's side of an in-memory connection: frames requests, collects and decodes replies. */
export class FakeGdb {
  readonly stub: GdbStub;
  readonly raw: string[] = [];
  private readonly decoder = new PacketDecoder();
  private items: Incoming[] = [];
  logs: string[] = [];
  killed = 0;
  detached = 0;

  constructor(readonly target: FakeTarget, opts: StubOptions = {}) {
    this.stub = new GdbStub(target, (b) => {
      this.raw.push(b);
      this.items.push(...this.decoder.push(b));
    }, {
      log: (l) => this.logs.push(l),
      onKill: () => this.killed++,
      onDetach: () => this.detached++,
      ...opts,
    });
  }

  /** Everything the stub sent since the last call, decoded. */
  take(): Incoming[] {
    const out = this.items;
    this.items = [];
    return out;
  }

  /** Send one packet, wait until answered, return the reply packets' data (acks dropped). */
  async request(data: string): Promise<string[]> {
    this.stub.receive(frame(data));
    await this.stub.idle();
    return this.take().flatMap((i) => (i.kind === "packet" ? [i.data] : []));
  }

  /** The single reply to `data`. */
  async ask(data: string): Promise<string> {
    const r = await this.request(data);
    if (r.length !== 1) throw new Error(`expected one reply to ${data}, got ${JSON.stringify(r)}`);
    return r[0]!;
  }
}
