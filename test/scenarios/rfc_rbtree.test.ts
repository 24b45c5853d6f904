// rfc-rbtree as the RFC proposed it: the first node of a canonical page stays, so the alias mapped
// second is the one the unmap misses.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../lab/scenario/run.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

const DIR = join(REPO_ROOT, "scenarios");

describe("rfc_rbtree_alias.yaml", () => {
  it("the checker names (S) at the alias mapped second: nested 0x40001000", async () => {
    const r = await runScenario(join(DIR, "rfc_rbtree_alias.yaml"));
    expect(r.failures).toEqual([]);
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    expect(r.outcome.details).toMatchObject({ invariant: "S", mmu: { index: 0 }, nestedIpa: "0x40001000", canonicalIpa: "0x48000000" });
  });

  it("under revmap the same run is safe: a polluted range, a full unmap of the MMU", async () => {
    const r = await runScenario(join(DIR, "rfc_rbtree_alias.yaml"), { unmap: "revmap" });
    expect(r.outcome).toMatchObject({ kind: "system-off", code: 0 });
    expect(r.failures).toEqual(["invariants: expected invariant S violated, got held", "metric shadowEntriesRemoved: expected = 1, got 2"]);
  });
});
