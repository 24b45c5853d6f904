// The RSP command handlers for one gdb connection: decode what gdb sends, answer from the target,
// run and stop it. All-stop mode, one thread per vCPU; a thread's registers are those of whichever
// level it runs, so the stub follows L1/L2 switches without gdb noticing. Memory accesses and
// watchpoints are in the target's memory space: VAs unless gdb switched it (QEMU's PhyMemMode, or
// `monitor space`).

import {
  PacketDecoder, escapeBinary, type Incoming, frame, fromHex, hexToText, parseHexNumber, textToHex, toHex,
} from "./packet.ts";
import { GDB_REGISTERS, decodeAllRegisters, decodeRegister, encodeAllRegisters, encodeRegister, registerValue } from "./registers.ts";
import { stopReplyPacket } from "./stop_reply.ts";
import { targetXml } from "./target_xml.ts";
import type { GdbTarget, TargetStop, WatchKind } from "./target.ts";
import { type ThreadRef, formatThreadId, parseThreadId } from "./thread_id.ts";
import { parseVCont, vContPlan } from "./vcont.ts";

/**
 * Told to gdb in qSupported (gdb then never sends more) and enforced: the most data bytes, as sent
 * between `$` and `#`, a packet may have. Longer ones get OVERSIZE_REPLY. A memory transfer
 * carries two hex digits per byte, so at most half.
 */
export const PACKET_SIZE = 0x4000;
export const OVERSIZE_REPLY = `E.packet longer than PacketSize (0x${PACKET_SIZE.toString(16)} bytes) refused`;
const MAX_TRANSFER = PACKET_SIZE / 2;

const E_INVAL = "E16";
const E_FAULT = "E14";
const PAGE = 0x1000n;

/** Z2, Z3, Z4: gdb's watchpoint types. */
const WATCH_KINDS = new Map<string, WatchKind>([["2", "watch"], ["3", "rwatch"], ["4", "awatch"]]);
/** Longest watched range taken from gdb (its own limit for a remote target is none). */
const MAX_WATCH_LEN = 1n << 32n;

export interface StubOptions {
  /** Diagnostics for the server's console (malformed packets, target errors). */
  log?: (line: string) => void;
  /** gdb sent `k`, or `vKill` outside extended mode: the VM is to be thrown away. */
  onKill?: () => void;
  /** gdb sent `D`. */
  onDetach?: () => void;
}

type Reply = string | null;
/** A packet to answer, or the place of one refused for its size: answered in turn, in order. */
type Pending = Extract<Incoming, { kind: "packet" | "oversize" }>;

export class GdbStub {
  private readonly decoder = new PacketDecoder(PACKET_SIZE);
  private noAck = false;
  private lastSent: string | null = null;
  private readonly queue: Pending[] = [];
  private running: AbortController | null = null;
  private pumping: Promise<void> | null = null;
  /** Breakpoints this client inserted, removed again when it goes away. */
  private readonly inserted = new Set<bigint>();
  /** The same for watchpoints, by `kind,addr,len`. */
  private readonly watches = new Map<string, { kind: WatchKind; addr: bigint; len: number }>();
  /** The thread gdb's Hc named for the legacy `s`/`c`; null: the current one. */
  private contThread: number | null = null;
  private closed = false;
  /** gdb sent `!`: it stays connected when the guest exits, and `run` starts it again (vRun). */
  private extended = false;
  /** gdb was told the guest exited (or, in extended mode, killed it): no thread until it is told of a stop again. */
  private exited = false;
  private xml: string | null = null;

  constructor(
    private readonly target: GdbTarget,
    private readonly send: (bytes: string) => void,
    private readonly opts: StubOptions = {},
  ) {}

  /** Bytes from gdb, as they arrive. */
  receive(chunk: string): void {
    if (this.closed) return;
    for (const item of this.decoder.push(chunk)) {
      switch (item.kind) {
        case "ack":
          break;
        case "nack":
          if (!this.noAck && this.lastSent !== null) this.send(this.lastSent);
          break;
        case "interrupt":
          // Only meaningful while the guest runs; a stray 0x03 while stopped changes nothing.
          this.running?.abort();
          break;
        case "bad-checksum":
          this.log(`dropped a packet with a bad checksum: ${JSON.stringify(item.data.slice(0, 40))}`);
          if (!this.noAck) this.send("-");
          break;
        case "oversize":
          this.log(`refused a packet longer than PacketSize (${item.limit} bytes)`);
          // Acknowledged all the same: a `-` would have gdb send it again, forever.
          if (!this.noAck) this.send("+");
          this.enqueue(item);
          break;
        case "packet":
          if (!this.noAck) this.send("+");
          this.enqueue(item);
      }
    }
  }

  private enqueue(item: Pending): void {
    this.queue.push(item);
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
  }

  /** Resolves when every packet received so far has been answered. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /**
   * gdb went away: stop a running guest, take this client's breakpoints and watchpoints out, and
   * put memory accesses back to VAs for the next client.
   */
  async disconnect(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.running?.abort();
    await this.idle();
    for (const addr of this.inserted) this.tryTarget(() => this.target.removeBreakpoint(addr));
    this.inserted.clear();
    for (const w of this.watches.values()) this.tryTarget(() => this.target.removeWatchpoint(w.kind, w.addr, w.len));
    this.watches.clear();
    this.tryTarget(() => this.target.setMemorySpace("va"));
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const reply = await this.answer(this.queue.shift()!);
      if (reply !== null && !this.closed) this.reply(reply);
    }
  }

  private async answer(item: Pending): Promise<Reply> {
    if (item.kind === "oversize") return OVERSIZE_REPLY;
    try {
      return await this.handle(item.data);
    } catch (e) {
      this.log(`'${item.data.slice(0, 40)}': ${(e as Error).message}`);
      return "E01";
    }
  }

  private reply(data: string): void {
    this.lastSent = frame(data);
    this.send(this.lastSent);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private tryTarget(fn: () => void): boolean {
    return this.targetError(fn) === null;
  }

  /** Run `fn` on the target: null when it worked, else its message (logged). */
  private targetError(fn: () => void): string | null {
    try {
      fn();
      return null;
    } catch (e) {
      const message = (e as Error).message;
      this.log(message);
      return message;
    }
  }

  private handle(data: string): Reply | Promise<Reply> {
    const c = data[0];
    switch (c) {
      // gdb reads the answer to `?` as the stop itself: no console line may come first.
      case "?": return this.stopReply(this.target.haltReason(), false);
      case "g": return encodeAllRegisters(this.target.registers());
      case "G": return this.writeAllRegisters(data.slice(1));
      case "p": return this.readRegister(data.slice(1));
      case "P": return this.writeRegister(data.slice(1));
      case "m": return this.readMemory(data.slice(1));
      case "M": return this.writeMemory(data.slice(1));
      case "c": case "C": case "s": case "S": return this.resumeLegacy(c, data.slice(1));
      case "b": return this.reverse(data);
      case "Z": case "z": return this.breakpoint(c === "Z", data.slice(1));
      case "H": return this.setThread(data.slice(1));
      case "T": return this.threadAlive(data.slice(1));
      case "k":
        this.opts.onKill?.();
        return null;
      // Extended mode (`target extended-remote`): gdb keeps the connection when the guest powers
      // off, and its `run` (vRun, or R from older gdbs) starts the VM again from the start.
      case "!":
        this.extended = true;
        return "OK";
      case "R":
        // No reply, and only in extended mode (elsewhere: not supported, an empty reply).
        if (!this.extended) return "";
        this.restart();
        return null;
      case "D":
        this.opts.onDetach?.();
        return "OK";
      case "q": case "Q": return this.query(data);
      case "v": return this.vPacket(data);
      default: return "";
    }
  }

  private query(data: string): Reply {
    if (data.startsWith("qSupported")) {
      return `PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;swbreak+;QStartNoAckMode+;ReverseStep+;ReverseContinue+`;
    }
    if (data === "QStartNoAckMode") {
      // The OK itself is still acknowledged; everything after it is not.
      this.reply("OK");
      this.noAck = true;
      return null;
    }
    if (data.startsWith("qXfer:features:read:")) return this.readFeatures(data.slice("qXfer:features:read:".length));
    if (data.startsWith("qRcmd,")) return this.monitor(data.slice("qRcmd,".length));
    if (data.startsWith("qThreadExtraInfo,")) return this.threadExtraInfo(data.slice("qThreadExtraInfo,".length));
    if (data.startsWith("Qqemu.PhyMemMode:")) return this.setPhysicalMode(data.slice("Qqemu.PhyMemMode:".length));
    switch (data) {
      // Every vCPU in one reply (gdb then asks for more with qsThreadInfo).
      case "qfThreadInfo": return this.exited ? "l" : "m" + this.threadIds().map(formatThreadId).join(",");
      case "qsThreadInfo": return "l";
      case "qC": return "QC" + formatThreadId(this.target.currentThread());
      // QEMU's own queries: what it offers beyond gdb's protocol, and whether addresses are physical.
      case "qqemu.Supported": return "PhyMemMode";
      case "qqemu.PhyMemMode": return this.target.memorySpace() === "pa" ? "1" : "0";
      case "qAttached": return "1";
      case "qSymbol::": return "OK";
      default: return "";
    }
  }

  private vPacket(data: string): Reply | Promise<Reply> {
    if (data === "vMustReplyEmpty") return "";
    if (data === "vCont?") return "vCont;c;C;s;S";
    if (data.startsWith("vCont;")) return this.vCont(data.slice("vCont;".length));
    // gdb reads the one packet after vRun as the stop: no console line may come first.
    if (data.startsWith("vRun;")) return this.stopReply(this.restart(), false);
    if (data.startsWith("vKill")) {
      // In extended mode gdb kills before each `run` and expects to stay connected.
      if (this.extended) this.exited = true;
      else this.opts.onKill?.();
      return "OK";
    }
    return "";
  }

  /** The reply for a stop, preceded by nvlab's own line about it on gdb's console. */
  private stopReply(stop: TargetStop, withMessage = true): string {
    if (withMessage && stop.message) this.reply("O" + textToHex(stop.message.endsWith("\n") ? stop.message : stop.message + "\n"));
    // gdb's threads live as long as the stops it is told say so.
    this.exited = stop.kind === "exited";
    // As QEMU: the thread that stopped is the one to resume, until gdb names another.
    this.contThread = null;
    return stopReplyPacket(stop);
  }

  private threadIds(): number[] {
    return this.target.threads().map((t) => t.tid);
  }

  /** A thread id gdb sent, if it names one of the vCPUs (or any / all of them). */
  private knownThread(text: string): ThreadRef | null {
    const t = parseThreadId(text);
    return t === null || (typeof t === "number" && !this.threadIds().includes(t)) ? null : t;
  }

  /**
   * `Hg`: the thread whose registers and memory gdb reads next; `Hc`: the one legacy `s`/`c` run.
   * "Any" and "all" keep the current thread (the one that stopped).
   */
  private setThread(arg: string): Reply {
    const op = arg[0];
    const t = this.knownThread(arg.slice(1));
    if ((op !== "g" && op !== "c") || t === null) return E_INVAL;
    if (op === "c") this.contThread = typeof t === "number" ? t : null;
    else if (typeof t === "number" && !this.tryTarget(() => this.target.selectThread(t))) return E_INVAL;
    return "OK";
  }

  /** `T`: is the thread alive? Every vCPU is, until gdb is told the machine is gone. */
  private threadAlive(arg: string): Reply {
    return !this.exited && this.knownThread(arg) !== null ? "OK" : "E01";
  }

  private threadExtraInfo(arg: string): Reply {
    const t = parseThreadId(arg);
    const thread = this.target.threads().find((x) => x.tid === t);
    return thread ? textToHex(thread.name) : E_INVAL;
  }

  /** `Qqemu.PhyMemMode:1`: memory accesses at host physical addresses; `:0`: back to VAs. */
  private setPhysicalMode(arg: string): Reply {
    const v = parseHexNumber(arg);
    if (v === null) return E_INVAL;
    this.target.setMemorySpace(v === 0n ? "va" : "pa");
    return "OK";
  }

  private readRegister(arg: string): Reply {
    const n = parseHexNumber(arg);
    const r = n === null ? undefined : GDB_REGISTERS[Number(n)];
    if (!r) return E_INVAL;
    return encodeRegister(r, registerValue(this.target.registers(), r));
  }

  private writeRegister(arg: string): Reply {
    const [num, value] = arg.split("=");
    const n = parseHexNumber(num);
    const r = n === null ? undefined : GDB_REGISTERS[Number(n)];
    const v = r && value !== undefined ? decodeRegister(r, value) : null;
    if (!r || v === null) return E_INVAL;
    if (!r.writable) {
      this.log(`gdb tried to write ${r.name}: nvlab's system registers are read-only from gdb`);
      return E_INVAL;
    }
    return this.tryTarget(() => this.target.setRegister(r.name, v)) ? "OK" : E_INVAL;
  }

  private writeAllRegisters(hex: string): Reply {
    const values = decodeAllRegisters(hex);
    if (values === null) return E_INVAL;
    const current = this.target.registers();
    for (const [name, v] of values) {
      const r = GDB_REGISTERS.find((g) => g.name === name)!;
      if (registerValue(current, r) === v) continue;
      if (!this.tryTarget(() => this.target.setRegister(name, v))) return E_INVAL;
    }
    return "OK";
  }

  private parseRange(arg: string): { addr: bigint; len: number } | null {
    const [a, l] = arg.split(",");
    const addr = parseHexNumber(a);
    const len = parseHexNumber(l);
    if (addr === null || len === null || len > BigInt(MAX_TRANSFER)) return null;
    return { addr, len: Number(len) };
  }

  /** As many bytes as are mapped from the start (gdb accepts a short read), E14 if none. */
  private readMemory(arg: string): Reply {
    const range = this.parseRange(arg);
    if (!range) return E_INVAL;
    const parts: Uint8Array[] = [];
    let addr = range.addr;
    let left = range.len;
    while (left > 0) {
      const chunk = Math.min(left, Number(PAGE - (addr % PAGE)));
      let bytes: Uint8Array;
      try {
        bytes = this.target.readMemory(addr, chunk);
      } catch {
        break;
      }
      parts.push(bytes);
      addr = BigInt.asUintN(64, addr + BigInt(chunk));
      left -= chunk;
    }
    if (parts.length === 0 && range.len > 0) return E_FAULT;
    return parts.map(toHex).join("");
  }

  private writeMemory(arg: string): Reply {
    const colon = arg.indexOf(":");
    const range = colon < 0 ? null : this.parseRange(arg.slice(0, colon));
    const bytes = colon < 0 ? null : fromHex(arg.slice(colon + 1));
    if (!range || !bytes || bytes.length !== range.len) return E_INVAL;
    return this.tryTarget(() => this.target.writeMemory(range.addr, bytes)) ? "OK" : E_FAULT;
  }

  private breakpoint(insert: boolean, arg: string): Reply {
    const [type, a, kind] = arg.split(",");
    const watch = WATCH_KINDS.get(type ?? "");
    if (watch) return this.watchpoint(insert, watch, a, kind);
    // Software and hardware breakpoints are the same thing to an emulator.
    if (type !== "0" && type !== "1") return "";
    const addr = parseHexNumber(a);
    if (addr === null || parseHexNumber(kind) === null) return E_INVAL;
    if (insert) {
      if (this.inserted.has(addr)) return "OK";
      if (!this.tryTarget(() => this.target.insertBreakpoint(addr))) return E_INVAL;
      this.inserted.add(addr);
    } else {
      if (!this.inserted.has(addr)) return "OK";
      this.tryTarget(() => this.target.removeBreakpoint(addr));
      this.inserted.delete(addr);
    }
    return "OK";
  }

  /**
   * Z2/Z3/Z4: `len` bytes at `addr` in the target's memory space. A watchpoint the target refuses
   * (an unmapped address, say) gets an `E.` error with its reason: gdb then reports that it could
   * not insert it.
   */
  private watchpoint(insert: boolean, kind: WatchKind, a: string | undefined, l: string | undefined): Reply {
    const addr = parseHexNumber(a);
    const len = parseHexNumber(l);
    if (addr === null || len === null || len === 0n || len > MAX_WATCH_LEN) return E_INVAL;
    const w = { kind, addr, len: Number(len) };
    const key = `${kind},${addr},${len}`;
    if (insert) {
      if (this.watches.has(key)) return "OK";
      const refused = this.targetError(() => this.target.insertWatchpoint(w.kind, w.addr, w.len));
      if (refused !== null) return errorReply(refused);
      this.watches.set(key, w);
    } else {
      if (!this.watches.has(key)) return "OK";
      this.tryTarget(() => this.target.removeWatchpoint(w.kind, w.addr, w.len));
      this.watches.delete(key);
    }
    return "OK";
  }

  /**
   * `c [addr]`, `s [addr]`, `C sig[;addr]`, `S sig[;addr]` for the thread of `Hc` (the address is
   * its new PC): signals are not delivered to a guest.
   */
  private resumeLegacy(c: string, arg: string): Reply | Promise<Reply> {
    let addrText = arg;
    if (c === "C" || c === "S") {
      const [sig, rest] = arg.split(";");
      if (parseHexNumber(sig) === null) return E_INVAL;
      addrText = rest ?? "";
    }
    const addr = addrText === "" ? null : parseHexNumber(addrText);
    if (addrText !== "" && addr === null) return E_INVAL;
    const tid = this.contThread;
    if (tid !== null && !this.tryTarget(() => this.target.selectThread(tid))) return E_INVAL;
    if (addr !== null && !this.tryTarget(() => this.target.setRegister("pc", addr))) return E_INVAL;
    return c === "c" || c === "C" ? this.resume() : this.step();
  }

  /** `vCont;action[:thread]...`: step one vCPU, or run them all (vcont.ts). */
  private vCont(arg: string): Reply | Promise<Reply> {
    const actions = parseVCont(arg);
    if (!actions || actions.some((a) => typeof a.thread === "number" && !this.threadIds().includes(a.thread))) return E_INVAL;
    const plan = vContPlan(actions);
    if ("run" in plan) return this.resume();
    if (plan.step !== "current") return this.stepThread(plan.step);
    return this.contThread === null ? this.step() : this.stepThread(this.contThread);
  }

  /** Step `tid` only: it becomes the current thread first. */
  private stepThread(tid: number): Reply {
    if (!this.tryTarget(() => this.target.selectThread(tid))) return E_INVAL;
    return this.step();
  }

  private step(): Reply {
    return this.stopReply(this.target.step());
  }

  /** The VM from its start, with a thread again. */
  private restart(): TargetStop {
    const stop = this.target.restart();
    this.exited = false;
    return stop;
  }

  /** `bs` one instruction back, `bc` back to the previous breakpoint: stops as forward ones are. */
  private reverse(data: string): Reply {
    if (data === "bs") return this.stopReply(this.target.reverseStep());
    if (data === "bc") return this.stopReply(this.target.reverseContinue());
    return "";
  }

  private async resume(): Promise<Reply> {
    const ctl = new AbortController();
    this.running = ctl;
    try {
      const stop = await this.target.resume(ctl.signal);
      return this.stopReply(stop);
    } finally {
      this.running = null;
    }
  }

  private readFeatures(arg: string): Reply {
    const [annex, range] = arg.split(":");
    if (annex !== "target.xml") return "E00";
    const [o, l] = (range ?? "").split(",");
    const off = parseHexNumber(o);
    const len = parseHexNumber(l);
    if (off === null || len === null) return E_INVAL;
    this.xml ??= targetXml();
    const chunk = this.xml.slice(Number(off), Number(off) + Number(len));
    return (Number(off) + Number(len) >= this.xml.length ? "l" : "m") + escapeBinary(chunk);
  }

  private monitor(hex: string): Reply {
    const line = hexToText(hex);
    if (line === null) return E_INVAL;
    let out: string;
    try {
      out = this.target.monitor(line.trim());
    } catch (e) {
      out = `error: ${(e as Error).message}\n`;
    }
    if (out === "") return "OK";
    return textToHex(out.endsWith("\n") ? out : out + "\n");
  }
}

/** An `E.` error reply carrying `message` (gdb shows it with `set debug remote 1`); framing bytes become spaces. */
function errorReply(message: string): string {
  return "E." + message.replace(/[$#}*\n]/g, " ");
}
