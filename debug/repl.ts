// The `nvlab debug` command interpreter: one line, one command, over a DebugSession. It works the
// same from a terminal and from a pipe (scripts): the prompt is the caller's business, errors are
// printed and the session goes on, and a running `continue` can be interrupted from outside.

import { EC_NAMES } from "../emulator/exception.ts";
import { hex } from "../emulator/types.ts";
import { assertInvariants, checkerAttached } from "../lab/check.ts";
import { HostError } from "../hypervisor/errors.ts";
import { coalesceCanonical, failRevmapStores, forceRecycle, splitCanonical, tlbiOnBehalfOfL1, unmapCanonical } from "../lab/injection.ts";
import { MonitorStop } from "../hypervisor/monitor.ts";
import { DebugError, isNumber, parseAddress } from "./errors.ts";
import { formatAccel, formatFpRegisters, formatMetrics, formatMmus, formatRegisters, formatRevmap, formatVector, mmuByName } from "./inspect.ts";
import { type AddressSpace, spaceName } from "./memory.ts";
import { vcpuName } from "./vcpus.ts";
import { type DebugSession, describeStop, EVENT_KINDS, type Level, type Stop, type WatchAccess } from "./session.ts";
import { formatEvent } from "../hypervisor/events.ts";
import { whyCommand } from "./why.ts";
import { formatSymbolRef } from "./symbols.ts";

/** Where injections by hand are said to come from (event details, metrics). */
export const DEBUGGER_SOURCE = "debugger";

const HELP = `commands (ADDR: 0x-hex or decimal address, SYMBOL, FILE:SYMBOL, SYMBOL+OFF, or a register: pc, sp, x0..x30):
  step [n] | stepi [n] | s | si   execute n guest instructions (exits are handled by L0 on the way)
  next [n] | n                    like step, but run over a bl/blr call
  continue | c                    run until a breakpoint, the end, or Ctrl-C
  reverse-step [n] | rs [n]       go back n instructions (of all vCPUs; also reverse-stepi, rsi)
  reverse-next | rn               go back one instruction, over a call that just returned
  reverse-continue | rc           go back to the previous breakpoint, exit or event breakpoint or watchpoint hit
  goto STEP                       go to step STEP of the run (instructions of all vCPUs), back or forward
  history [n]                     the last n L0 events (default 20) with their steps, for goto
  snapshot [NAME]                 save the whole VM now (NAME default s1, s2, ...)
  restore NAME                    go back (or forward) to a saved snapshot
  snapshots                       list the saved snapshots and the automatic ones
  why ADDR [nipa|ipa|pa] [mmuN] [all]
                                  who mapped this: the L1 stage-2 writes, shadow faults, unmaps, TLBIs and
                                  injections that cover a nested IPA, canonical IPA or host PA, newest first
  break ADDR|SYMBOL | b           stop when that instruction is about to run (a symbol: only in its image)
  break exit EC                   stop after L0 handles an exit with that exception class (name or number:
                                  ${Object.values(EC_NAMES).join(", ")})
  break event NAME [FIELD=VALUE…]  stop after an L0 action that logs NAME: ${EVENT_KINDS.join(", ")}
                                  ("injection" = chaos), with those fields when given (e.g. tlbi op=IPAS2E1IS)
  watch [/va|/nipa|/ipa|/pa] [/l1|/l2] ADDR [LEN] [r|w|rw]
                                  stop after an access to LEN bytes (default 8) of memory: writes (w, the
                                  default), reads (r) or both (rw), by L1, L2 or L0 itself, on any vCPU;
                                  a VA or nested IPA watches the L1 memory it maps to now
  delete [id]                     delete one breakpoint or watchpoint, or all
  info breakpoints | info b       list breakpoints and watchpoints
  info watchpoints | info w       list watchpoints
  info vcpus | info threads       every vCPU: its level, VMID and location (gdb's thread N is vCPU N-1)
  vcpu N | thread N               show vCPU N (thread N: gdb's numbering, vCPU N-1); step then steps it only
  regs                            GPRs, PSTATE, level, L2's EL1 context and L1's virtual EL2 registers
  regs v | regs fp                V0-V31 (128-bit hex), FPCR (rounding, FZ, DN, AHP) and FPSR (flags)
  regs vN                         one V register in its .d/.s/.h/.b lanes, with the FP values
  x [/va|/nipa|/ipa|/pa] [/l1|/l2] ADDR [n]
                                  n 32-bit words (default 8) at a VA (default), nested IPA, canonical IPA or host PA
  disas [/l1|/l2] [ADDR] [n]      disassemble n instructions (default 8) at ADDR (default: the PC)
  pt [/l1|/l2] ADDR               the translation of a VA stage by stage, the shadow entries and records
  mmus                            the nested (shadow) MMUs
  revmap MMU                      a shadow MMU's reverse map (MMU: 0 or mmu0)
  accel                           the accelerator tree
  metrics                         L0's counters
  inject unmap IPA [SIZE]         the host takes canonical [IPA, IPA+SIZE) back (default SIZE 0x1000)
  inject fail-revmap N            the next N revmap stores fail
  inject recycle MMU|any          recycle a shadow MMU
  inject tlbi NAME [ARG]          a TLBI (e.g. vmalls12e1is, ipas2e1is) as if L1 had issued it
  inject split IPA                dirty logging starts on a 2M canonical block: 512 page mappings
  inject coalesce IPA [ORDER]     coalesce them back into the block (bbm | install-first), over scheduler ticks
  help                            this text
  quit | q                        leave (end of input too)
Ctrl-C stops a running continue.`;

const WORDS_PER_LINE = 4;
const DEFAULT_WORDS = 8;
const DEFAULT_INSNS = 8;
/** Bytes a `watch` covers unless told (a 64-bit variable or descriptor). */
const DEFAULT_WATCH_BYTES = 8;
/** Most words or instructions one command shows. */
const MAX_COUNT = 4096;
/** Most instructions one `step` runs (a step cannot be interrupted; `continue` can). */
const MAX_STEPS = 100_000;
/** A `next` over a call stops at most this many times at the return address before giving up. */
const NEXT_RECURSION = 1000;
/** Largest range `inject unmap` takes (the host never takes back more than L1's RAM). */
const MAX_UNMAP = 1n << 36n;

type Out = (text: string) => void;

export class Repl {
  private running: AbortController | null = null;
  private consoleOpen = false;

  constructor(
    readonly session: DebugSession,
    private readonly out: Out,
  ) {
    // Guest console output goes to the same place, between command outputs.
    session.kvm.onConsole = (b) => {
      this.out(String.fromCharCode(b));
      this.consoleOpen = b !== 0x0a;
    };
  }

  /** Run one line. Returns false for quit. Errors are printed, never thrown. */
  async execute(line: string): Promise<boolean> {
    const words = line.trim().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0 || words[0]!.startsWith("#")) return true;
    const [cmd, ...args] = words as [string, ...string[]];
    try {
      return await this.dispatch(cmd.toLowerCase(), args);
    } catch (e) {
      this.endConsoleLine();
      if (e instanceof DebugError) this.print(`error: ${e.message}`);
      else if (e instanceof HostError) this.print(`host error: ${e.message}`);
      else this.print(`internal error: ${(e as Error).message ?? String(e)}`);
      return true;
    }
  }

  /** Stop a running `continue` (Ctrl-C). Returns whether one was running. */
  interrupt(): boolean {
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  private print(text: string): void {
    this.out(text + "\n");
  }

  private endConsoleLine(): void {
    if (this.consoleOpen) this.out("\n");
    this.consoleOpen = false;
  }

  private async dispatch(cmd: string, args: string[]): Promise<boolean> {
    const s = this.session;
    switch (cmd) {
      case "step": case "stepi": case "s": case "si":
        this.showStop(s.stepInstruction(this.count(args[0], 1, MAX_STEPS)));
        return true;
      case "next": case "n":
        this.showStop(await this.next(this.count(args[0], 1, MAX_STEPS)));
        return true;
      case "continue": case "c": case "cont":
        this.showStop(await this.continue());
        return true;
      case "reverse-step": case "reverse-stepi": case "rs": case "rsi":
        this.showStop(s.reverseStep(this.count(args[0], 1, Number.MAX_SAFE_INTEGER)));
        return true;
      case "reverse-next": case "rn":
        this.showStop(this.reverseNext());
        return true;
      case "reverse-continue": case "rc":
        this.showStop(s.reverseContinue());
        return true;
      case "goto":
        if (args[0] === undefined) throw new DebugError("goto: give a step (goto 1234; 'history' lists events with their steps)");
        this.showStop(s.goto(Number(this.number(args[0], "step"))));
        return true;
      case "history":
        this.print(this.history(this.count(args[0], 20, s.kvm.events.capacity)));
        return true;
      case "snapshot": {
        const snap = s.snapshot(args[0]);
        this.print(`snapshot ${snap.name} at step ${snap.at.snap.steps} (${formatBytes(snap.at.snap.bytes)} of its own)`);
        return true;
      }
      case "restore":
        if (args[0] === undefined) throw new DebugError("restore: give a snapshot name ('snapshots' lists them)");
        this.showStop(s.restore(args[0]));
        return true;
      case "snapshots":
        this.print(this.snapshotList());
        return true;
      case "why":
        this.print(whyCommand(s.kvm, args.join(" ")).join("\n"));
        return true;
      case "break": case "b": case "br":
        this.breakCommand(args);
        return true;
      case "watch": case "w":
        this.watchCommand(args);
        return true;
      case "delete": case "d": {
        const id = args[0] === undefined ? undefined : Number(this.number(args[0], "breakpoint id"));
        const watch = id !== undefined && s.watchpoints().some((w) => w.id === id);
        s.deleteBreak(id);
        this.print(id === undefined ? "all breakpoints and watchpoints deleted" : `${watch ? "watchpoint" : "breakpoint"} ${id} deleted`);
        return true;
      }
      case "vcpu": case "thread":
        this.selectCommand(cmd, args);
        return true;
      case "info":
        if (/^w(atch(points?)?)?$/.test(args[0] ?? "")) this.print(this.watchpointList());
        else if (/^(vcpus?|threads?)$/.test(args[0] ?? "")) this.print(this.vcpuList());
        else if (/^b(reak(points?)?)?$/.test(args[0] ?? "")) this.print(this.breakpointList());
        else throw new DebugError("info: say 'info breakpoints', 'info watchpoints' or 'info vcpus'");
        return true;
      case "regs": case "registers":
        this.print(this.registersCommand(args));
        return true;
      case "x":
        this.print(this.examine(args));
        return true;
      case "disas": case "disassemble":
        this.print(this.disassemble(args));
        return true;
      case "pt": {
        const { level, rest } = takeLevel(args);
        if (rest.length === 0) throw new DebugError("pt: give an address (pt [/l1|/l2] ADDR)");
        const lv = level ?? s.vcpu.level;
        this.print(s.translate(this.address(rest[0]!, lv).addr, lv).text);
        return true;
      }
      case "mmus":
        this.print(formatMmus(s.kvm, s.vcpu));
        return true;
      case "revmap":
        if (args[0] === undefined) throw new DebugError("revmap: give a shadow MMU (revmap 0)");
        this.print(formatRevmap(s.kvm, args[0]));
        return true;
      case "accel":
        this.print(formatAccel(s.kvm));
        return true;
      case "metrics":
        this.print(formatMetrics(s.kvm.metrics.snapshot()));
        return true;
      case "inject":
        this.print(this.inject(args));
        return true;
      case "help": case "h": case "?":
        this.print(HELP);
        return true;
      case "quit": case "q": case "exit":
        return false;
      default:
        throw new DebugError(`unknown command '${cmd}' (type help)`);
    }
  }

  private registersCommand(args: string[]): string {
    const which = args[0]?.toLowerCase();
    if (which === undefined) return formatRegisters(this.session.registers());
    if (which === "v" || which === "fp" || which === "simd") return formatFpRegisters(this.session.fpRegisters());
    const v = /^[vq](\d+)$/.exec(which);
    if (v && Number(v[1]) <= 31) return formatVector(Number(v[1]), this.session.fpRegisters().v[Number(v[1])]!);
    throw new DebugError(`regs: say 'regs', 'regs v' (or 'regs fp') or 'regs v0'..'regs v31', not '${args[0]}'`);
  }

  // ------------------------------------------------------------------ running

  private async continue(): Promise<Stop> {
    const ac = new AbortController();
    this.running = ac;
    try {
      return await this.session.continue({ signal: ac.signal });
    } finally {
      this.running = null;
    }
  }

  /** Step, but over a call: run to the instruction after a bl/blr at the same stack depth. */
  private async next(count: number): Promise<Stop> {
    const s = this.session;
    let stop: Stop | null = null;
    for (let i = 0; i < count; i++) {
      const loc = s.location();
      if (!loc || !/^blr?$/.test(loc.insn.split(" ")[0] ?? "")) {
        stop = s.stepInstruction();
      } else {
        stop = await this.runTo(loc.level, loc.pc + 4n, s.registers().sp);
      }
      if (stop.reason.kind !== "step") return stop;
    }
    return stop!;
  }

  /**
   * Back one instruction; when that lands inside a call that just returned (the instruction before
   * the PC is the bl/blr that made it), back to that call instead.
   */
  private reverseNext(): Stop {
    const s = this.session;
    const loc = s.location();
    const st = s.reverseStep();
    if (!loc || !st.location || (st.location.level === loc.level && st.location.pc === loc.pc - 4n)) return st;
    const call = s.describe(loc.level, loc.pc - 4n);
    if (!/^blr?$/.test(call.insn.split(" ")[0] ?? "")) return st;
    const bp = s.addAddressBreak({ va: loc.pc - 4n, level: loc.level });
    try {
      const back = s.reverseContinue();
      return back.reason.kind === "breakpoint" && back.reason.id === bp.id ? { ...back, reason: { kind: "reverse-step" } } : back;
    } finally {
      s.deleteBreak(bp.id);
    }
  }

  private history(n: number): string {
    const events = this.session.kvm.events.recent(n);
    if (events.length === 0) return "no L0 events yet";
    return events.map((e) => formatEvent(e)).join("\n");
  }

  private snapshotList(): string {
    const s = this.session;
    const named = s.snapshots().map((n) => `  ${n.name.padEnd(12)} step ${n.at.snap.steps}  ${formatBytes(n.at.snap.bytes)}`);
    const auto = s.timeline?.stats();
    const head = named.length ? ["saved:", ...named] : ["no saved snapshots (snapshot [NAME] saves one)"];
    const tail = auto ? [`automatic: ${auto.count} from step ${auto.oldest} to ${auto.newest}, every ${s.timeline!.every} instructions, ${formatBytes(auto.bytes)}`] : [];
    return [...head, ...tail].join("\n");
  }

  private async runTo(level: Level, pc: bigint, sp: bigint): Promise<Stop> {
    const s = this.session;
    const bp = s.addAddressBreak({ va: pc, level });
    try {
      for (let i = 0; i < NEXT_RECURSION; i++) {
        const st = await this.continue();
        const ours = st.reason.kind === "breakpoint" && st.reason.id === bp.id;
        // A deeper recursive call returning to the same address: keep going.
        if (ours && s.registers().sp < sp) continue;
        return ours ? { ...st, reason: { kind: "step" } } : st;
      }
      throw new DebugError(`next: gave up after ${NEXT_RECURSION} returns to ${hex(pc)} deeper in the stack`);
    } finally {
      s.deleteBreak(bp.id);
    }
  }

  /** The location line, why it stopped, and what happened on the way. */
  private showStop(st: Stop): void {
    this.endConsoleLine();
    for (const n of st.notes) this.print(`  ${n}`);
    const why = describeStop(this.session, st);
    if (why) this.print(why);
    if (st.location) this.print(st.location.text);
  }

  // ------------------------------------------------------------------ breakpoints

  private breakCommand(args: string[]): void {
    const s = this.session;
    if (args.length === 0) throw new DebugError("break: give an address or symbol, 'exit EC' or 'event NAME'");
    let bp;
    if (args[0] === "exit") {
      if (args[1] === undefined) throw new DebugError("break exit: give an exception class (e.g. HVC64, DABT_LOW or 0x24)");
      bp = s.addExitBreak(args[1]);
    } else if (args[0] === "event") {
      if (args.length < 2) throw new DebugError(`break event: give an event kind (${EVENT_KINDS.join(", ")})`);
      bp = s.addEventBreak(args.slice(1).join(" "));
    } else {
      const { level, rest } = takeLevel(args);
      const spec = rest.join("");
      if (isNumber(spec) && level) {
        const va = parseAddress(spec);
        if (va % 4n !== 0n) throw new DebugError(`break: ${level} ${hex(va)} is not 4-byte aligned, so no instruction starts there`);
        bp = s.addAddressBreak({ va, level });
      } else bp = s.addAddressBreak(spec);
    }
    this.print(`breakpoint ${bp.id}: ${bp.label}`);
  }

  private breakpointList(): string {
    const list = this.session.breakpoints();
    const watches = this.session.watchpoints();
    if (list.length === 0 && watches.length === 0) return "no breakpoints or watchpoints";
    const rows = [...list.map((b) => ({ id: b.id, hits: b.hits, label: b.label })), ...watches.map((w) => ({ id: w.id, hits: w.hits, label: `watch ${w.label}` }))];
    rows.sort((a, b) => a.id - b.id);
    return ["id  hits  what", ...rows.map((b) => `${String(b.id).padEnd(3)} ${String(b.hits).padEnd(5)} ${b.label}`)].join("\n");
  }

  /** Every vCPU, the shown one marked: `* 0  thread 1  vCPU 0, L2, VMID 1  L2 0x…  <sym>  insn`. */
  private vcpuList(): string {
    const s = this.session;
    const shown = s.vcpu.index;
    const lines = s.kvm.vcpus.map((v) => {
      s.selectVcpu(v.index);
      const at = s.location()?.text.replace(/^vCPU \d+ /, "") ?? "";
      return `${v.index === shown ? "*" : " "} ${String(v.index).padEnd(3)} thread ${String(v.index + 1).padEnd(3)} ${vcpuName(v).padEnd(24)} ${at}`;
    });
    s.selectVcpu(shown);
    return lines.join("\n");
  }

  /** `vcpu N` (0-based, as nvlab names vCPUs) or `thread N` (gdb's numbering: vCPU N-1). */
  private selectCommand(cmd: string, args: string[]): void {
    const s = this.session;
    const here = (): string => s.location()?.text.replace(/^vCPU \d+ /, "") ?? "";
    if (args[0] === undefined) return this.print(`vCPU ${s.vcpu.index} (thread ${s.vcpu.index + 1}): ${here()}`);
    const n = Number(this.number(args[0], cmd === "thread" ? "thread" : "vCPU"));
    const index = cmd === "thread" ? n - 1 : n;
    if (cmd === "thread" && n < 1) throw new DebugError(`thread: threads are numbered from 1 (thread N is vCPU N-1)`);
    s.selectVcpu(index);
    this.print(`vCPU ${index} (thread ${index + 1}): ${here()}`);
  }

  private watchpointList(): string {
    const list = this.session.watchpoints();
    if (list.length === 0) return "no watchpoints";
    return ["id  hits  what", ...list.map((w) => `${String(w.id).padEnd(3)} ${String(w.hits).padEnd(5)} ${w.label}`)].join("\n");
  }

  /** `watch [/SPACE] [/LEVEL] ADDR [LEN] [r|w|rw]` */
  private watchCommand(args: string[]): void {
    const { space, level, rest } = takeSpace(args);
    const usage = "watch [/va|/nipa|/ipa|/pa] [/l1|/l2] ADDR [LEN] [r|w|rw]";
    if (rest.length === 0) throw new DebugError(`watch: give an address (${usage})`);
    let access: WatchAccess = "w";
    const last = rest[rest.length - 1]!.toLowerCase();
    if (rest.length > 1 && /^(r|w|rw|wr)$/.test(last)) {
      access = last === "wr" ? "rw" : (last as WatchAccess);
      rest.pop();
    }
    if (rest.length > 2) throw new DebugError(`watch: too many arguments (${usage})`);
    const s = this.session;
    const { where, addr } = this.spaceAddress(space, rest[0]!, level);
    const len = rest[1] === undefined ? DEFAULT_WATCH_BYTES : Number(this.number(rest[1], "length"));
    const w = s.addWatch({ space, addr, len, access, level: level ?? where.level });
    this.print(`watchpoint ${w.id}: ${w.label}`);
  }

  // ------------------------------------------------------------------ memory

  /** An address argument: a number, a register, or a symbol (which also decides the level). */
  private address(text: string, level: Level): { addr: bigint; level: Level; label: string | null } {
    const t = text.toLowerCase();
    if (/^\d/.test(text)) return { addr: parseAddress(text), level, label: null };
    const regs = this.session.registers();
    if (t === "pc") return { addr: regs.pc, level: regs.level, label: "pc" };
    if (t === "sp") return { addr: regs.sp, level: regs.level, label: "sp" };
    const x = /^x(\d+)$/.exec(t);
    if (x && Number(x[1]) <= 30) return { addr: regs.x[Number(x[1])]!, level, label: t };
    const ref = this.session.symbols.resolve(text);
    return { addr: ref.symbol.address + ref.offset, level: ref.symbol.level, label: formatSymbolRef(ref) };
  }

  private count(text: string | undefined, dflt: number, max = MAX_COUNT): number {
    if (text === undefined) return dflt;
    const n = Number(this.number(text, "count"));
    if (n < 1 || n > max) throw new DebugError(`count ${text} is out of range (1..${max})`);
    return n;
  }

  /** An address argument in `space`: a symbol's canonical IPA for /ipa, otherwise its run address. */
  private spaceAddress(space: AddressSpace, text: string, level: Level | undefined): { where: ReturnType<Repl["address"]>; addr: bigint } {
    const where = this.address(text, level ?? this.session.vcpu.level);
    if (space !== "ipa" || !where.label || isNumber(text) || /^(pc|sp|x\d+)$/i.test(text)) return { where, addr: where.addr };
    const ref = this.session.symbols.resolve(text);
    return { where, addr: ref.symbol.canonical + ref.offset };
  }

  private number(text: string, what: string): bigint {
    return parseAddress(text, what);
  }

  private examine(args: string[]): string {
    const { space, level, rest } = takeSpace(args);
    if (rest.length === 0) throw new DebugError("x: give an address (x [/va|/nipa|/ipa|/pa] ADDR [n])");
    const s = this.session;
    const { where, addr } = this.spaceAddress(space, rest[0]!, level);
    const lv = level ?? where.level;
    const n = this.count(rest[1], DEFAULT_WORDS);
    fitsBelowTop("x", addr, BigInt(n) * 4n, `${n} words`);
    const bytes = s.readMemory(space, addr, n * 4, lv);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lines = [`${spaceName(space, lv)} ${hex(addr)}${where.label ? ` <${where.label}>` : ""}:`];
    for (let i = 0; i < n; i += WORDS_PER_LINE) {
      const words: string[] = [];
      for (let j = i; j < Math.min(n, i + WORDS_PER_LINE); j++) words.push(hex(dv.getUint32(j * 4, true), 8));
      lines.push(`  ${hex(addr + BigInt(i * 4), 16)}:  ${words.join(" ")}`);
    }
    return lines.join("\n");
  }

  private disassemble(args: string[]): string {
    const s = this.session;
    const { level, rest } = takeLevel(args);
    const pc = s.registers().pc;
    const at = rest[0] === undefined ? { addr: pc, level: level ?? s.vcpu.level, label: null } : this.address(rest[0], level ?? s.vcpu.level);
    const lv = level ?? at.level;
    const n = this.count(rest[1], DEFAULT_INSNS);
    fitsBelowTop("disas", at.addr, BigInt(n) * 4n, `${n} instructions`);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = at.addr + BigInt(i * 4);
      const loc = s.describe(lv, a);
      const mark = a === pc && lv === s.vcpu.level ? "=>" : "  ";
      lines.push(`${mark} ${loc.text}`);
    }
    return lines.join("\n");
  }

  // ------------------------------------------------------------------ injection

  private inject(args: string[]): string {
    const s = this.session;
    const kvm = s.kvm;
    const [what, a, b] = args;
    let done: string;
    switch (what) {
      case "unmap": {
        if (a === undefined) throw new DebugError("inject unmap: give a canonical IPA (inject unmap IPA [SIZE])");
        const ipa = parseAddress(a, "IPA");
        const size = b === undefined ? 0x1000n : parseAddress(b, "size");
        if (size === 0n || size > MAX_UNMAP) throw new DebugError(`inject unmap: size ${b} is out of range (1..${hex(MAX_UNMAP)})`);
        // The host gives pages back whole (the MMU notifier's range is in pages).
        if (ipa % PAGE !== 0n || size % PAGE !== 0n) throw new DebugError(`inject unmap: ${hex(ipa)}+${hex(size)} is not 4 KiB aligned (the host takes whole pages back)`);
        fitsBelowTop("inject unmap", ipa, size, `${hex(size)} bytes`);
        unmapCanonical(kvm, ipa, size, DEBUGGER_SOURCE);
        done = `unmapped canonical ${hex(ipa)}+${hex(size)}`;
        break;
      }
      case "fail-revmap": {
        const n = Number(parseAddress(a ?? "", "count"));
        if (n < 1 || n > 1_000_000) throw new DebugError(`inject fail-revmap: count ${a} is out of range (1..1000000)`);
        failRevmapStores(kvm, n, DEBUGGER_SOURCE);
        done = `the next ${n} revmap store(s) will fail`;
        break;
      }
      case "recycle": {
        if (a === undefined) throw new DebugError("inject recycle: give a shadow MMU (0, mmu0) or 'any'");
        const which = a === "any" || a === "any-valid" ? "any-valid" : mmuByName(kvm, a).index;
        const mmu = forceRecycle(kvm, which, DEBUGGER_SOURCE);
        done = mmu ? `recycled mmu${mmu.index}${mmu.pendingUnmap ? " (in use: emptied before the guest runs again)" : ""}` : "nothing valid to recycle";
        break;
      }
      case "tlbi": {
        if (a === undefined) throw new DebugError("inject tlbi: give an operation (e.g. vmalls12e1is, ipas2e1is)");
        const arg = b === undefined ? 0n : parseAddress(b, "TLBI operand");
        try {
          tlbiOnBehalfOfL1(s.vcpu, a.toLowerCase(), arg, DEBUGGER_SOURCE);
        } catch (e) {
          if (e instanceof HostError && /unknown TLBI/.test(e.message)) throw new DebugError(e.message);
          throw e;
        }
        done = `TLBI ${a.toUpperCase()}, ${hex(arg)} done on behalf of L1`;
        break;
      }
      case "split":
      case "coalesce": {
        if (a === undefined) throw new DebugError(`inject ${what}: give the 2M-aligned canonical IPA of the region`);
        const ipa = parseAddress(a, "IPA");
        if (ipa % BLOCK_2M !== 0n) throw new DebugError(`inject ${what}: ${hex(ipa)} is not 2M aligned (give the start of the 2M block)`);
        if (b !== undefined && b !== "bbm" && b !== "install-first") throw new DebugError(`inject coalesce: order ${b} is not bbm or install-first`);
        try {
          if (what === "split") {
            splitCanonical(kvm, ipa, DEBUGGER_SOURCE);
            done = `split canonical ${hex(ipa)}+0x200000 into 512 page mappings`;
          } else {
            const op = coalesceCanonical(kvm, ipa, b === undefined ? {} : { order: b }, DEBUGGER_SOURCE);
            done = `coalescing canonical ${hex(ipa)}+0x200000 (${op.order}, ${op.pages} page mappings, ${op.totalTicks} ticks): it runs while the guest does`;
          }
        } catch (e) {
          if (e instanceof HostError) throw new DebugError(e.message);
          throw e;
        }
        break;
      }
      default:
        throw new DebugError("inject: unmap IPA [SIZE] | fail-revmap N | recycle MMU|any | tlbi NAME [ARG] | split IPA | coalesce IPA [ORDER]");
    }
    // L0's state changed by hand: the run's history goes on from here, not as it was recorded.
    s.changedByUser();
    return done + this.checkInvariants();
  }

  /** After a hand injection, the checker runs as it does after a scenario's. */
  private checkInvariants(): string {
    const kvm = this.session.kvm;
    if (!checkerAttached(kvm)) return "";
    try {
      assertInvariants(kvm);
      return "";
    } catch (e) {
      if (e instanceof MonitorStop) return `\n${e.verdict} violated:\n${e.message}`;
      throw e;
    }
  }
}

const PAGE = 0x1000n;
const BLOCK_2M = 0x20_0000n;

/** `bytes` from `addr` must end at or below 2^64: past it the addresses would wrap to 0. */
function fitsBelowTop(cmd: string, addr: bigint, bytes: bigint, what: string): void {
  if (addr + bytes > 1n << 64n) throw new DebugError(`${cmd}: ${what} from ${hex(addr)} run past the top of the 64-bit address space`);
}

/** A leading /l1 or /l2 option. */
/** `/va|/nipa|/ipa|/pa` and `/l1|/l2` options, and the other arguments. */
function takeSpace(args: string[]): { space: AddressSpace; level: Level | undefined; rest: string[] } {
  let space: AddressSpace = "va";
  const rest: string[] = [];
  let level: Level | undefined;
  for (const a of args) {
    const opt = /^\/(va|nipa|ipa|pa|l1|l2)$/i.exec(a);
    if (!opt) rest.push(a);
    else if (/^l[12]$/i.test(opt[1]!)) level = opt[1]!.toUpperCase() as Level;
    else space = opt[1]!.toLowerCase() as AddressSpace;
  }
  return { space, level, rest };
}

function takeLevel(args: string[]): { level: Level | undefined; rest: string[] } {
  const rest: string[] = [];
  let level: Level | undefined;
  for (const a of args) {
    if (/^\/l[12]$/i.test(a)) level = a.slice(1).toUpperCase() as Level;
    else rest.push(a);
  }
  return { level, rest };
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
