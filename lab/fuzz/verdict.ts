// Whether a fuzz run found something: the checker stopped it on an invariant, it ended otherwise
// or printed otherwise than the reference run (the same guests and VM under `full`, no injection:
// a correct L0 hides every injection from the guests), or L0 or nvlab failed.

import type { Execution, FuzzOutcome } from "./execute.ts";

export type FailureKind = "invariant" | "exit" | "console" | "host-error" | "internal-error";

export interface FuzzFailure {
  kind: FailureKind;
  /** The violated invariant's letter (kind "invariant"). */
  invariant?: "S" | "R" | "A" | "L" | "T";
  /** `invariant S`, `divergence: exit`: two failures are "the same" when these are equal. */
  signature: string;
  /** One line for the summary. */
  summary: string;
}

/** How a run ended, as far as the guests can tell: the exit code, the budget, a guest error. */
export function endText(o: FuzzOutcome): string {
  switch (o.kind) {
    case "system-off":
      return `SYSTEM_OFF code ${o.code}`;
    case "budget":
      return "step budget exhausted";
    case "guest-error":
      return o.stage === "load" ? "image load error" : "guest error";
    case "monitor-stop":
      return `stopped by ${o.verdict}`;
    case "host-error":
      return "host error";
    case "internal-error":
      return "internal error";
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? "";
}

/** The first line where two consoles differ, for the summary. */
function consoleDiff(got: string, want: string): string {
  const a = got.split("\n");
  const b = want.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: ${JSON.stringify(a[i] ?? "(end)")}, reference ${JSON.stringify(b[i] ?? "(end)")}`;
  }
  return "same lines";
}

/** The failure `run` shows against `reference`, or null when it passed. */
export function judge(run: Execution, reference: Execution): FuzzFailure | null {
  const o = run.outcome;
  if (o.kind === "monitor-stop") {
    const m = /^invariant ([SRALT])$/.exec(o.verdict);
    if (m) {
      const letter = m[1] as FuzzFailure["invariant"] & string;
      return { kind: "invariant", invariant: letter, signature: `invariant ${letter}`, summary: firstLine(o.message) };
    }
  }
  if (o.kind === "host-error") return { kind: "host-error", signature: "host error", summary: `host error: ${firstLine(o.message)}` };
  if (o.kind === "internal-error") return { kind: "internal-error", signature: "internal error", summary: `internal error: ${firstLine(o.message)}` };
  const end = endText(o);
  const refEnd = endText(reference.outcome);
  if (end !== refEnd) return { kind: "exit", signature: "divergence: exit", summary: `ended with ${end}, reference ${refEnd}` };
  if (run.console !== reference.console) return { kind: "console", signature: "divergence: console", summary: `console differs at ${consoleDiff(run.console, reference.console)}` };
  return null;
}
