// `nvlab run SCENARIO.yaml` through the real bin: the readable summary and exit status 0 when every
// expectation holds, 2 when one fails (here: a strategy override the scenario was not written
// for), --json with the whole result, and schema errors reported with file, line and field (status 1,
// the usage-error status, so a script tells a failed scenario from one that never ran).

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nvlab } from "../helpers/bin.ts";



describe.concurrent("nvlab run SCENARIO.yaml (the real bin)", () => {
  it("all expectations hold: summary with ✓ lines and key metrics, exit status 0", async () => {
    const r = await nvlab("run", "scenarios/revmap_direct_map.yaml");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario: revmap-direct-map \(scenarios\/revmap_direct_map\.yaml\)$/m);
    expect(r.stdout).toMatch(/^strategy: revmap \+ directMap, 2 shadow MMUs$/m);
    expect(r.stdout).toMatch(/^outcome: PSCI SYSTEM_OFF, code 0 \(\d+ instructions\)$/m);
    expect(r.stdout).toContain("  ✓ exit code: expected 0, got code 0");
    expect(r.stdout).toContain("  ✓ metric revmap.staleEntries: expected each = 0, got [0]");
    expect(r.stdout).toMatch(/^key metrics:\n {2}shadowFaults +\d+$/m);
    expect(r.stdout).toMatch(/^result: PASS/m);
  });

  it("a failed expectation: ✗ with the actual value, exit status 2 (not 1, the usage-error status)", async () => {
    const [r, j] = await Promise.all([
      nvlab("run", "scenarios/revmap_stale.yaml", "--direct-map"),
      nvlab("run", "scenarios/revmap_stale.yaml", "--direct-map", "--json"),
    ]);
    expect(r.code).toBe(2);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, status: 2 });
    expect(r.stdout).toContain("  ✗ metric revmap.staleEntries.max: expected ≥ 1, got 0");
    expect(r.stdout).toMatch(/^result: FAIL \(1 expectation failed\)$/m);
  });

  it("a violation expected and found: the checker's report is printed, exit status 0", async () => {
    const r = await nvlab("run", "scenarios/rfc_rbtree_flaw.yaml");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^outcome: stopped by invariant S after \d+ instructions$/m);
    expect(r.stdout).toContain("  ✓ invariants: expected invariant S violated, got invariant S violated");
    expect(r.stdout).toMatch(/^checker report:\n {2}invariant S \(safety\) violated/m);
  });

  it("--unmap overrides the scenario's strategy (here: safe, so the expected violation is missing)", async () => {
    const r = await nvlab("run", "scenarios/rfc_rbtree_flaw.yaml", "--unmap", "revmap");
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^strategy: revmap, 2 shadow MMUs$/m);
    expect(r.stdout).toContain("  ✗ invariants: expected invariant S violated, got held");
  });

  it("--json: the whole result, ok and failures included", async () => {
    const r = await nvlab("run", "scenarios/revmap_polluted.yaml", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: true, status: 0, failures: [], name: "revmap-polluted", strategy: "revmap", outcome: { kind: "system-off", code: 0 } });
    expect((j.metrics as Record<string, unknown>)["revmap.polluted"]).toBeGreaterThanOrEqual(1);
    expect((j.checks as { ok: boolean }[]).every((c) => c.ok)).toBe(true);
    expect(j.console).toContain("remap: after  0xf940027410008013");
  });

  it("schema errors: file:line:col, field path, exit status 1, nothing runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nvlab-cli-scenario-"));
    const file = join(dir, "bad.yaml");
    await writeFile(file, "name: bad\nimages:\n  l1: {file: x.S}\nexpect:\n  invariants: hold\ntimeline:\n  - at: {exits: 0}\n    do: {failRevmapStores: 1}\n");
    const r = await nvlab("run", file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`nvlab: ${file}:7:17: timeline[0].at.exits: expected a positive integer\n`);
  });

  it("usage: a scenario with --l2 or --memory is refused; no scenario and no --l1 either", async () => {
    const a = await nvlab("run", "scenarios/revmap_stale.yaml", "--memory", "512M");
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/--memory cannot be combined with a scenario file/);
    const b = await nvlab("run");
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/give an L1 \(--l1 FILE\.S\) or a scenario file/);
  });

  it("plain runs take the new options: --chaos on rfc-rbtree ends with status 126 and names (S)", async () => {
    const r = await nvlab("run", "--l1", "guests/l1/hypblock.S", "--l2", "guests/l2/checksum.S@0x48000000", "--unmap", "rfc-rbtree", "--chaos", "4", "--chaos-rate", "10");
    expect(r.code).toBe(126);
    expect(r.stdout).toMatch(/^exit: stopped by invariant S: invariant S \(safety\) violated/m);
  });
});
