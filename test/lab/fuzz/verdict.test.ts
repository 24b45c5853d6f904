// The verdict of a fuzz run against its reference: an invariant, a different end, a different
// console, L0 or nvlab failing — or nothing, when the guests could not tell.

import { describe, expect, it } from "vitest";
import type { Execution, FuzzOutcome } from "../../../lab/fuzz/execute.ts";
import { endText, judge } from "../../../lab/fuzz/verdict.ts";

const report = { reason: "r" };
const run = (outcome: FuzzOutcome, console = "hello\n"): Execution => ({ outcome, console, steps: 10, exits: 3, chaosLog: [] });
const ref = run({ kind: "system-off", code: 0 });

describe("judge", () => {
  it("passes a run that ends and prints as the reference did", () => {
    expect(judge(run({ kind: "system-off", code: 0 }), ref)).toBeNull();
  });

  it("names the violated invariant", () => {
    const f = judge(run({ kind: "monitor-stop", verdict: "invariant A", message: "invariant A (accelerator) violated: x\nmore", details: {}, report }), ref);
    expect(f).toEqual({ kind: "invariant", invariant: "A", signature: "invariant A", summary: "invariant A (accelerator) violated: x" });
  });

  it("tells a different end from a different console", () => {
    expect(judge(run({ kind: "system-off", code: 3 }), ref)).toMatchObject({ kind: "exit", signature: "divergence: exit", summary: "ended with SYSTEM_OFF code 3, reference SYSTEM_OFF code 0" });
    expect(judge(run({ kind: "budget", level: "L2", pc: 0n, report }), ref)?.signature).toBe("divergence: exit");
    expect(judge(run({ kind: "guest-error", report, message: "m", stage: "run" }), ref)?.signature).toBe("divergence: exit");
    expect(judge(run({ kind: "system-off", code: 0 }, "hello\nextra\n"), ref)).toMatchObject({
      kind: "console", signature: "divergence: console", summary: 'console differs at line 2: "extra", reference ""',
    });
  });

  it("a guest error the reference also has is no failure", () => {
    const g = run({ kind: "guest-error", report, message: "m", stage: "run" });
    expect(judge(g, g)).toBeNull();
  });

  it("reports L0 and nvlab failures", () => {
    expect(judge(run({ kind: "host-error", message: "out of pool pages\nat …" }), ref)).toMatchObject({ kind: "host-error", summary: "host error: out of pool pages" });
    expect(judge(run({ kind: "internal-error", message: "boom" }), ref)?.signature).toBe("internal error");
  });

  it("endText: what the guests could tell", () => {
    expect(endText({ kind: "system-off", code: 5 })).toBe("SYSTEM_OFF code 5");
    expect(endText({ kind: "monitor-stop", verdict: "invariant S", message: "", details: {}, report })).toBe("stopped by invariant S");
  });
});
