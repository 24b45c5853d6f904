// gdb's `monitor …` commands (qRcmd): what gdb cannot show by itself — which level runs, the
// full translation of an address, L0's nested MMUs and metrics —, breakpoints on L0's side
// (exits, events) that gdb has no syntax for, moves in time gdb has no packet for (reset,
// goto a step, snapshots), and which address space gdb's memory accesses use.

import { parseAddress, DebugError } from "../errors.ts";
import { ADDRESS_SPACES, spaceName } from "../memory.ts";
import { type AddressSpace, type DebugSession, type Stop, describeStop } from "../session.ts";
import type { Level } from "../symbols.ts";
import { formatAccel, formatMetrics, formatMmus, formatRevmap } from "../inspect.ts";
import { WHY_USAGE, whyCommand } from "../why.ts";

export interface MonitorContext {
  /** Where a move in time landed, told as a forward stop is (level, PC, symbol, instruction, why). */
  describe(stop: Stop): string;
  /** The address space of gdb's memory accesses and watchpoints (absent: no gdb to have one). */
  space?: { get(): AddressSpace; set(space: AddressSpace): void };
}

/**
 * gdb keeps the registers and frames it read at the last stop, and a `monitor` command does not
 * make it drop them: after a move in time the user has it read them again.
 */
export const REFRESH_HINT = "gdb still shows the registers of before: 'maintenance flush register-cache' (older gdb: 'flushregs') reads them again";

interface MonitorCommand {
  usage: string;
  help: string;
  run(session: DebugSession, args: string[], ctx: MonitorContext): string;
}

const COMMANDS: Record<string, MonitorCommand> = {
  help: { usage: "help", help: "this list", run: () => helpText() },
  level: {
    usage: "level",
    help: "which level the vCPU runs (gdb's registers are that level's) and where",
    run: (s) => {
      const loc = s.location();
      return `${s.vcpu.level}${loc ? `: ${loc.text}` : ""}\n`;
    },
  },
  pt: {
    usage: "pt ADDR [L1|L2]",
    help: "the full translation of a VA (default: the current level's): stage-1, L1's stage-2, canonical stage-2, shadow entries",
    run: (s, args) => {
      if (args.length < 1 || args.length > 2) throw new DebugError("usage: monitor pt ADDR [L1|L2]");
      const level = args[1] === undefined ? undefined : parseLevel(args[1]);
      return s.translate(parseAddress(args[0]!), level).text;
    },
  },
  mmus: {
    usage: "mmus",
    help: "L0's nested MMUs: L1's VTTBR/VTCR each shadows, VMIDs, refcount, validity, entries",
    run: (s, args) => noArgs("mmus", args, () => formatMmus(s.kvm, s.vcpu)),
  },
  revmap: {
    usage: "revmap MMU",
    help: "a shadow MMU's reverse map (canonical range → nested IPA), e.g. monitor revmap 0",
    run: (s, args) => {
      if (args.length !== 1) throw new DebugError("usage: monitor revmap MMU (e.g. monitor revmap 0)");
      return formatRevmap(s.kvm, args[0]!);
    },
  },
  accel: {
    usage: "accel",
    help: "the accelerator tree (canonical range → shadow MMU bits)",
    run: (s, args) => noArgs("accel", args, () => formatAccel(s.kvm)),
  },
  metrics: {
    usage: "metrics",
    help: "L0's counters so far (exits, shadow faults, unmaps…)",
    run: (s, args) => noArgs("metrics", args, () => formatMetrics(s.kvm.metrics.snapshot())),
  },
  break: {
    usage: "break exit EC | break event KIND [FIELD=VALUE…]",
    help: "stop after L0 handles an exit of that class (number or name, e.g. DABT_LOW) or logs that event (shadow-fault, unmap, recycle…; with FIELD=VALUE, only events with those fields, e.g. tlbi op=IPAS2E1IS)",
    run: (s, args) => {
      const [what, arg] = args;
      const usage = "usage: monitor break exit EC | monitor break event KIND [FIELD=VALUE…]";
      if (what === "exit" ? args.length !== 2 : what !== "event" || args.length < 2) throw new DebugError(usage);
      const bp = what === "exit" ? s.addExitBreak(arg!) : s.addEventBreak(args.slice(1).join(" "));
      return `nvlab breakpoint ${bp.id}: ${bp.label}\n`;
    },
  },
  delete: {
    usage: "delete [ID]",
    help: "delete an nvlab breakpoint (default: all exit/event breakpoints)",
    run: (s, args) => {
      if (args.length > 1) throw new DebugError("usage: monitor delete [ID]");
      const ids = args[0] === undefined ? s.breakpoints().filter((b) => b.kind !== "address").map((b) => b.id) : [Number(parseAddress(args[0], "breakpoint id"))];
      for (const id of ids) s.deleteBreak(id);
      return `deleted ${ids.length} breakpoint${ids.length === 1 ? "" : "s"}\n`;
    },
  },
  reset: {
    usage: "reset",
    help: "back to the start of the run (the VM as built, nothing run), also after it has ended; then flush gdb's registers (see below)",
    run: (s, args, ctx) => noArgs("reset", args, () => moved(ctx, s.reset())),
  },
  goto: {
    usage: "goto STEP",
    help: "to step STEP of the run (instructions of all vCPUs, as the [nvlab] lines number them), back or forward",
    run: (s, args, ctx) => {
      if (args.length !== 1 || !/^\d+$/.test(args[0]!)) throw new DebugError("usage: monitor goto STEP (a step number, e.g. monitor goto 1200)");
      return moved(ctx, s.goto(Number(args[0])));
    },
  },
  snapshot: {
    usage: "snapshot [NAME]",
    help: "save the whole VM now (NAME default s1, s2, ...)",
    run: (s, args) => {
      if (args.length > 1) throw new DebugError("usage: monitor snapshot [NAME]");
      const snap = s.snapshot(args[0]);
      return `snapshot ${snap.name} at step ${snap.at.snap.steps}\n`;
    },
  },
  restore: {
    usage: "restore NAME",
    help: "back (or forward) to a saved snapshot",
    run: (s, args, ctx) => {
      if (args.length !== 1) throw new DebugError("usage: monitor restore NAME (monitor snapshots lists them)");
      return moved(ctx, s.restore(args[0]!));
    },
  },
  snapshots: {
    usage: "snapshots",
    help: "the saved snapshots and their steps",
    run: (s, args) => noArgs("snapshots", args, () => {
      const named = s.snapshots();
      if (named.length === 0) return "no saved snapshots (monitor snapshot [NAME] saves one)\n";
      return named.map((n) => `${n.name}  step ${n.at.snap.steps}\n`).join("");
    }),
  },
  why: {
    usage: WHY_USAGE,
    help: "what made ADDR's mapping what it is: L0's events for a nested IPA, canonical IPA or host PA, newest first, with their steps for monitor goto",
    run: (s, args) => whyCommand(s.kvm, args.join(" ")).join("\n"),
  },
  phys: {
    usage: "phys on|off",
    help: "gdb's memory accesses (x, set, watch) at host physical addresses, or back at the current level's VAs; QEMU's 'maintenance packet Qqemu.PhyMemMode:1' (:0) does the same",
    run: (s, args, ctx) => {
      const which = args.length === 1 ? args[0]!.toLowerCase() : "";
      if (which !== "on" && which !== "off") throw new DebugError("usage: monitor phys on|off");
      return setSpace(s, ctx, which === "on" ? "pa" : "va");
    },
  },
  space: {
    usage: "space [va|nipa|ipa|pa]",
    help: "the address space of gdb's memory accesses and watchpoints: the current level's VAs (default), nested IPAs, canonical IPAs (L1's stage-2 tables are there), host PAs (L0's shadow tables); without one: the current one",
    run: (s, args, ctx) => {
      if (args.length > 1) throw new DebugError("usage: monitor space [va|nipa|ipa|pa]");
      if (args.length === 0) return `gdb's memory accesses are in: ${describeSpace(s, gdbSpace(ctx).get())}\n`;
      return setSpace(s, ctx, parseSpace(args[0]!));
    },
  },
  breakpoints: {
    usage: "breakpoints",
    help: "nvlab's breakpoints (gdb's own appear as address breakpoints)",
    run: (s) => {
      const bps = s.breakpoints();
      if (bps.length === 0) return "no breakpoints\n";
      return bps.map((b) => `${String(b.id).padStart(3)}  ${b.label}  hits ${b.hits}\n`).join("");
    },
  },
};

/** The landing place of a move in time, and what gdb needs to show it. */
function moved(ctx: MonitorContext, stop: Stop): string {
  return `${ctx.describe(stop)}\n${REFRESH_HINT}\n`;
}

function noArgs(name: string, args: string[], fn: () => string): string {
  if (args.length > 0) throw new DebugError(`usage: monitor ${name} (no arguments)`);
  return fn();
}

function gdbSpace(ctx: MonitorContext): NonNullable<MonitorContext["space"]> {
  if (!ctx.space) throw new DebugError("only gdb's memory accesses have an address space (the debugger's commands name theirs)");
  return ctx.space;
}

function setSpace(s: DebugSession, ctx: MonitorContext, space: AddressSpace): string {
  gdbSpace(ctx).set(space);
  return `gdb's memory accesses are now in: ${describeSpace(s, space)}\n`;
}

/** `pa (host PA)`; a VA is the current vCPU's level's. */
function describeSpace(s: DebugSession, space: AddressSpace): string {
  return `${space} (${spaceName(space, s.vcpu.level)}${space === "va" ? ", the running level's" : ""})`;
}

function parseSpace(text: string): AddressSpace {
  const t = text.toLowerCase();
  const space = ADDRESS_SPACES.find((a) => a === t);
  if (!space) throw new DebugError(`'${text}' is not an address space (${ADDRESS_SPACES.join(", ")})`);
  return space;
}

function parseLevel(text: string): Level {
  const t = text.toUpperCase();
  if (t !== "L1" && t !== "L2") throw new DebugError(`'${text}' is not a level (L1 or L2)`);
  return t;
}

function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return (
    "nvlab monitor commands:\n" +
    Object.values(COMMANDS).map((c) => `  monitor ${c.usage.padEnd(width)}  ${c.help}\n`).join("") +
    "gdb's reverse-stepi, reverse-continue and reverse-finish go back in time too.\n" +
    "After monitor reset, goto or restore, gdb still shows the registers of before:\n" +
    "  maintenance flush register-cache   (older gdb: flushregs) makes it read them again.\n" +
    "With target extended-remote, gdb stays connected when the guest powers off, and 'run' starts it again.\n"
  );
}

/** A stop as the debugger prints it, when no gdb target formats it. */
function plainStop(session: DebugSession, stop: Stop): string {
  return `${describeStop(session, stop)}${stop.location ? `: ${stop.location.text}` : ""}`;
}

/** Run one `monitor` line; DebugError for bad input (the target shows it as an error line). */
export function runMonitorCommand(session: DebugSession, line: string, ctx: MonitorContext = { describe: (st) => plainStop(session, st) }): string {
  const [name, ...args] = line.trim().split(/\s+/);
  if (!name) return helpText();
  const key = name.toLowerCase();
  // Own names only: "constructor" is not a command.
  const cmd = Object.hasOwn(COMMANDS, key) ? COMMANDS[key] : undefined;
  if (!cmd) throw new DebugError(`unknown monitor command '${name}' (try: monitor help)`);
  const out = cmd.run(session, args, ctx);
  return out === "" || out.endsWith("\n") ? out : out + "\n";
}

export function monitorCommandNames(): string[] {
  return Object.keys(COMMANDS);
}
