// An in-memory GdbTarget for the stub's tests: memory in each address space, a register file per
// vCPU, "CPUs" that advance pc by 4 per step (one at a time when stepped, round-robin when
// resumed), breakpoints, watchpoints on the accesses of chosen instructions, an exit address and a
// level switch address, and a history of (vCPU, pc, level) per step to go back through.

import type { AddressSpace } from "../../../debug/memory.ts";
import type { TargetRegisters } from "../../../debug/gdb/registers.ts";
import { SIGINT, SIGTRAP, type GdbTarget, type TargetStop, type TargetThread, type WatchKind } from "../../../debug/gdb/target.ts";
import { PacketDecoder, frame, type Incoming } from "../../../debug/gdb/packet.ts";
import { GdbStub, type StubOptions } from "../../../debug/gdb/stub.ts";

export const MEM_BASE = 0x4000_0000n;
export const MEM_SIZE = 0x2000;
/** Host physical memory ("pa") is elsewhere, so an access in the wrong space fails. */
export const PHYS_BASE = 0x8000_0000n;

type Level = "L1" | "L2";

export class FakeCpu {
  x: bigint[] = Array.from({ length: 31 }, (_v, i) => BigInt(i) * 0x100n);
  sp = 0x4000_1ff0n;
  cpsr = 0x3c5n;
  level: Level = "L2";

  constructor(public pc: bigint) {}
}

/** What the instruction at a pc does to memory when it runs. */
export interface FakeAccess {
  space: AddressSpace;
  addr: bigint;
  len: number;
  write: boolean;
  /** Written bytes (for a write). */
  bytes?: number[];
}

interface FakeWatch {
  kind: WatchKind;
  space: AddressSpace;
  addr: bigint;
  len: number;
}

export class FakeTarget implements GdbTarget {
  readonly cpus: FakeCpu[];
  current = 0;
  sys: Record<string, bigint> = { HCR_EL2: 0x8000_0001n, VTTBR_EL2: 0x1_0000_4400_0000n, SCTLR_EL1: 0x30d0_0800n };
  mem = new Uint8Array(MEM_SIZE);
  phys = new Uint8Array(MEM_SIZE);
  private readonly memories: Record<AddressSpace, { base: bigint; bytes: Uint8Array }>;
  space: AddressSpace = "va";
  breaks = new Set<bigint>();
  watches: FakeWatch[] = [];
  /** pc → the access its instruction makes. */
  accesses = new Map<bigint, FakeAccess>();
  /** Reaching this pc (or running outside memory) powers the machine off with code `exitCode`. */
  exitAt: bigint | null = null;
  exitCode = 7;
  /** Reaching this pc switches to L1. */
  switchAt: bigint | null = null;
  exited = false;
  steps = 0;
  monitorLog: string[] = [];
  /** Where each step so far started: going back pops it. */
  history: { cpu: number; pc: bigint; level: Level }[] = [];
  restarts = 0;

  /** vCPU i starts at MEM_BASE + i * 0x100. */
  constructor(vcpus = 1) {
    this.cpus = Array.from({ length: vcpus }, (_v, i) => new FakeCpu(MEM_BASE + BigInt(i) * 0x100n));
    const other = () => ({ base: MEM_BASE, bytes: new Uint8Array(MEM_SIZE) });
    this.memories = { va: { base: MEM_BASE, bytes: this.mem }, nipa: other(), ipa: other(), pa: { base: PHYS_BASE, bytes: this.phys } };
  }

  private get cpu(): FakeCpu {
    return this.cpus[this.current]!;
  }

  get x(): bigint[] { return this.cpu.x; }
  get sp(): bigint { return this.cpu.sp; }
  get pc(): bigint { return this.cpu.pc; }
  set pc(v: bigint) { this.cpu.pc = v; }
  get cpsr(): bigint { return this.cpu.cpsr; }
  get level(): Level { return this.cpu.level; }
  set level(v: Level) { this.cpu.level = v; }

  private signal(extra: Partial<Extract<TargetStop, { kind: "signal" }>> = {}): TargetStop {
    return { kind: "signal", signal: SIGTRAP, level: this.level, thread: this.current + 1, ...extra };
  }

  haltReason(): TargetStop {
    return this.exited ? { kind: "exited", code: this.exitCode } : this.signal();
  }

  threads(): TargetThread[] {
    return this.cpus.map((c, i) => ({ tid: i + 1, name: `vCPU ${i} (${c.level})` }));
  }

  currentThread(): number {
    return this.current + 1;
  }

  selectThread(tid: number): void {
    if (!this.cpus[tid - 1]) throw new Error(`no thread ${tid}`);
    this.current = tid - 1;
  }

  registers(): TargetRegisters {
    const c = this.cpu;
    return { x: [...c.x], sp: c.sp, pc: c.pc, cpsr: c.cpsr, level: c.level, sys: { ...this.sys } };
  }

  setRegister(name: string, v: bigint): void {
    const c = this.cpu;
    const m = /^x(\d+)$/.exec(name);
    if (m) c.x[Number(m[1])] = v;
    else if (name === "sp") c.sp = v;
    else if (name === "pc") c.pc = v;
    else if (name === "cpsr") c.cpsr = v;
    else throw new Error(`no register ${name}`);
  }

  memorySpace(): AddressSpace {
    return this.space;
  }

  setMemorySpace(space: AddressSpace): void {
    this.space = space;
  }

  /** The bytes of `space` and the offset of `addr` in them; throws when [addr, addr+len) is not all there. */
  private at(space: AddressSpace, addr: bigint, len: number): { bytes: Uint8Array; off: number } {
    const m = this.memories[space];
    if (addr < m.base || addr + BigInt(len) > m.base + BigInt(m.bytes.length)) throw new Error(`unmapped: ${space} ${addr.toString(16)}`);
    return { bytes: m.bytes, off: Number(addr - m.base) };
  }

  readMemory(addr: bigint, len: number): Uint8Array {
    const { bytes, off } = this.at(this.space, addr, len);
    return bytes.slice(off, off + len);
  }

  writeMemory(addr: bigint, data: Uint8Array): void {
    const { bytes, off } = this.at(this.space, addr, data.length);
    bytes.set(data, off);
  }

  /** One instruction of vCPU `i`; a stop when it ends the run, switches level or hits a watchpoint. */
  private advance(i: number): TargetStop | null {
    const c = this.cpus[i]!;
    this.current = i;
    this.history.push({ cpu: i, pc: c.pc, level: c.level });
    const access = this.accesses.get(c.pc);
    c.pc += 4n;
    this.steps++;
    if (this.exitAt !== null && (c.pc >= this.exitAt || c.pc < MEM_BASE)) {
      this.exited = true;
      return { kind: "exited", code: this.exitCode, message: "system off" };
    }
    if (c.pc === this.switchAt) {
      c.level = "L1";
      return this.signal({ level: "L1", message: "now in L1" });
    }
    return access ? this.access(access) : null;
  }

  private access(a: FakeAccess): TargetStop | null {
    if (a.write && a.bytes) {
      const { bytes, off } = this.at(a.space, a.addr, a.len);
      bytes.set(a.bytes, off);
    }
    const want: WatchKind[] = a.write ? ["watch", "awatch"] : ["rwatch", "awatch"];
    const w = this.watches.find((x) => want.includes(x.kind) && x.space === a.space && x.addr < a.addr + BigInt(a.len) && a.addr < x.addr + BigInt(x.len));
    if (!w) return null;
    const addr = a.addr > w.addr ? a.addr : w.addr;
    return this.signal({ watch: { kind: w.kind, addr }, message: `${a.write ? "write" : "read"} of ${addr.toString(16)}` });
  }

  step(): TargetStop {
    return this.advance(this.current) ?? this.signal();
  }

  async resume(signal: AbortSignal): Promise<TargetStop> {
    for (;;) {
      for (let n = 0; n < 1000; n++) {
        for (let i = 0; i < this.cpus.length; i++) {
          const s = this.advance(i);
          if (s?.kind === "exited" || (s?.kind === "signal" && s.watch)) return s;
          if (this.breaks.has(this.pc)) return this.signal({ swbreak: true, message: `breakpoint at ${this.pc.toString(16)}` });
        }
      }
      await new Promise((r) => setImmediate(r));
      if (signal.aborted) return this.signal({ signal: SIGINT, message: "interrupted" });
    }
  }

  private back(): boolean {
    const h = this.history.pop();
    if (!h) return false;
    this.current = h.cpu;
    this.cpu.pc = h.pc;
    this.cpu.level = h.level;
    this.steps--;
    this.exited = false;
    return true;
  }

  private historyStart(): TargetStop {
    return this.signal({ historyStart: true, message: "at the start" });
  }

  reverseStep(): TargetStop {
    return this.back() ? this.signal({ message: `back to ${this.pc.toString(16)}` }) : this.historyStart();
  }

  reverseContinue(): TargetStop {
    while (this.back()) {
      if (this.breaks.has(this.pc)) return this.signal({ swbreak: true, message: `breakpoint at ${this.pc.toString(16)}` });
    }
    return this.historyStart();
  }

  restart(): TargetStop {
    while (this.back());
    this.current = 0;
    this.restarts++;
    return this.signal({ message: "restarted" });
  }

  insertBreakpoint(addr: bigint): void {
    if (addr % 4n !== 0n) throw new Error("misaligned");
    this.breaks.add(addr);
  }

  removeBreakpoint(addr: bigint): void {
    this.breaks.delete(addr);
  }

  insertWatchpoint(kind: WatchKind, addr: bigint, len: number): void {
    this.at(this.space, addr, len);
    this.watches.push({ kind, space: this.space, addr, len });
  }

  removeWatchpoint(kind: WatchKind, addr: bigint, len: number): void {
    const i = this.watches.findIndex((w) => w.kind === kind && w.addr === addr && w.len === len);
    if (i >= 0) this.watches.splice(i, 1);
  }

  monitor(command: string): string {
    this.monitorLog.push(command);
    if (command === "level") return `${this.level}\n`;
    if (command === "quiet") return "";
    throw new Error(`unknown monitor command '${command}'`);
  }
}

/** gdb's side of an in-memory connection: frames requests, collects and decodes replies. */
export class FakeGdb<T extends GdbTarget = FakeTarget> {
  readonly stub: GdbStub;
  readonly raw: string[] = [];
  private readonly decoder = new PacketDecoder();
  private items: Incoming[] = [];
  logs: string[] = [];
  killed = 0;
  detached = 0;

  constructor(readonly target: T, opts: StubOptions = {}) {
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
