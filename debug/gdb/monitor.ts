// gdb's `monitor …` commands (qRcmd): what gdb cannot show by itself — which level runs, the
// full translation of an address, L0's nested MMUs and metrics — and breakpoints on L0's side
// (exits, events) that gdb has no syntax for.

import { parseAddress, DebugError } from "../errors.ts";
import type { DebugSession } from "../session.ts";
import type { Level } from "../symbols.ts";
import { formatAccel, formatMetrics, formatMmus, formatRevmap } from "../inspect.ts";

interface MonitorCommand {
  usage: string;
  help: string;
  run(session: DebugSession, args: string[]): string;
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

function noArgs(name: string, args: string[], fn: () => string): string {
  if (args.length > 0) throw new DebugError(`usage: monitor ${name} (no arguments)`);
  return fn();
}

function parseLevel(text: string): Level {
  const t = text.toUpperCase();
  if (t !== "L1" && t !== "L2") throw new DebugError(`'${text}' is not a level (L1 or L2)`);
  return t;
}

function helpText(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return "nvlab monitor commands:\n" + Object.values(COMMANDS).map((c) => `  monitor ${c.usage.padEnd(width)}  ${c.help}\n`).join("");
}

/** Run one `monitor` line; DebugError for bad input (the target shows it as an error line). */
export function runMonitorCommand(session: DebugSession, line: string): string {
  const [name, ...args] = line.trim().split(/\s+/);
  if (!name) return helpText();
  const cmd = COMMANDS[name.toLowerCase()];
  if (!cmd) throw new DebugError(`unknown monitor command '${name}' (try: monitor help)`);
  const out = cmd.run(session, args);
  return out === "" || out.endsWith("\n") ? out : out + "\n";
}

export function monitorCommandNames(): string[] {
  return Object.keys(COMMANDS);
}
