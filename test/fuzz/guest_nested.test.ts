// Fuzzing of guest-built nested state through L0 (see guest_nested_case.ts for the machine).

import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { judge, loadFuzzL1, nestedCase, runCase } from "./guest_nested_case.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";

beforeAll(loadFuzzL1);

// ---------------------------------------------------------------- the properties

describe("guest-built nested state through L0", () => {
  const nested = new Tally();
  const sys = new Tally();
  afterAll(() => {
    // Each case is a random L1 stage-2 with random VTCR/HCR/SCTLR/TCR and a random SPSR/ELR for the ERET.
    nested.report("guest-state:nested-stage2+eret");
    sys.report("guest-state:el2-sysreg-writes");
  });

  it("random L1 stage-2, VTCR/HCR/SCTLR/TCR for L2 and SPSR/ELR: the run ends architecturally", () => {
    fc.assert(
      fc.property(nestedCase(false), (c) => {
        const outcome = judge(c, runCase(c));
        nested.count(outcome);
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(100) },
    );
  });

  it("random MSRs and SYS instructions from L1 before it enters L2, and from L2: the run ends architecturally", () => {
    fc.assert(
      fc.property(nestedCase(true), (c) => {
        const outcome = judge(c, runCase(c));
        for (const s of [...c.sys, ...c.l2sys]) if (s.enc) sys.count(outcome);
      }),
      { seed: FUZZ_SEED + 1, numRuns: fuzzRuns(100) },
    );
  });
});
