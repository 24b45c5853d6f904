// The two ways a run of L0 can fail, kept apart so the CLI can tell the user whose fault it is:
// HostError — L0 itself is wrong or out of resources (a bug to fix here, or a bigger pool);
// GuestError — L1 or L2 did something the machine cannot continue from (a bug in the guest).

/** L0 bug or resource exhaustion (page pool empty, inconsistent tables, refcount underflow…). */
export class HostError extends Error {
  /** Where the guest was when L0 failed (filled in by runVm), for the user's report. */
  report?: GuestReport;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HostError";
  }
}

/** What a user needs to see about guest misbehaviour; filled in by whoever catches it on the way up. */
export interface GuestReport {
  /** One line: what the guest did. */
  reason: string;
  /** Which guest level was running. */
  level?: "L1" | "L2";
  /** Which vCPU (its index) was running: with several, the level alone does not say whose state it is. */
  vcpu?: number;
  /** Register name → formatted value (x0…x30, sp, pc, pstate, ELR/ESR…). */
  regs?: Record<string, string>;
  /** The exit being handled: EC name, ESR, FAR, HPFAR… */
  exit?: Record<string, string>;
  /** The last events of the run, oldest first, one line each. */
  events?: string[];
}

/**
 * Guest misbehaviour (an access outside RAM and the UART, an unhandled trap…). `report` stays
 * mutable so outer layers can add registers and events; `message` always renders its current state.
 */
export class GuestError extends Error {
  readonly report: GuestReport;

  constructor(report: GuestReport | string) {
    super();
    this.name = "GuestError";
    this.report = typeof report === "string" ? { reason: report } : report;
    // An accessor rather than a fixed string: the report may grow after construction.
    Object.defineProperty(this, "message", {
      get: () => formatGuestReport(this.report),
      enumerable: false,
      configurable: true,
    });
  }
}

/** `L2 on vCPU 1`: the level and, when known, the vCPU that ran it. */
export function runningText(r: Pick<GuestReport, "level" | "vcpu">): string {
  return r.vcpu === undefined ? (r.level ?? "?") : `${r.level ?? "?"} on vCPU ${r.vcpu}`;
}

/** `[L2 on vCPU 0] reason`, then the exit, registers (four per line) and events, each section indented. */
export function formatGuestReport(r: GuestReport): string {
  const lines = [r.level ? `[${runningText(r)}] ${r.reason}` : r.reason];
  if (r.exit && Object.keys(r.exit).length > 0) {
    lines.push("  exit: " + Object.entries(r.exit).map(([k, v]) => `${k}=${v}`).join(" "));
  }
  if (r.regs) {
    const entries = Object.entries(r.regs).map(([k, v]) => `${k.padStart(6)}=${v}`);
    if (entries.length > 0) lines.push("  registers:");
    for (let i = 0; i < entries.length; i += 4) lines.push("   " + entries.slice(i, i + 4).join(" "));
  }
  if (r.events && r.events.length > 0) {
    lines.push(`  last ${r.events.length} events:`);
    for (const e of r.events) lines.push("    " + e);
  }
  return lines.join("\n");
}
