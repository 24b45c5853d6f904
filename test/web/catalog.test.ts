// The page's catalog (web/ui/catalog.ts) copies the shipped pairs' facts: they must match
// test/qemu/pairs.ts, and every file a catalog entry needs must exist in the repository.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UNMAP_STRATEGIES } from "../../hypervisor/unmap/registry.ts";
import { catalog, DEMO_PAIR, GUEST_PAIRS, includesOf, scenarioImages, scenarioOptions, setupFiles, UNMAP_NAMES } from "../../web/ui/catalog.ts";
import { GUEST_PAIRS as QEMU_PAIRS, REPO_ROOT } from "../qemu/pairs.ts";

const repoText = (path: string): string | undefined => (existsSync(join(REPO_ROOT, path)) ? readFileSync(join(REPO_ROOT, path), "utf8") : undefined);
const shippedScenarios = readdirSync(join(REPO_ROOT, "scenarios")).map((f) => `scenarios/${f}`);

describe("web catalog", () => {
  it("has the pairs of test/qemu/pairs.ts, in order, with the same images and vCPUs", () => {
    const facts = QEMU_PAIRS.map((p) => ({ name: p.name, l1: p.l1, l2: p.l2, vcpus: p.vcpus ?? 1 }));
    expect(GUEST_PAIRS).toEqual(facts);
  });

  it("defaults to what npm start boots", () => {
    const start = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts.start as string;
    const demo = GUEST_PAIRS.find((p) => p.name === DEMO_PAIR)!;
    expect(start).toContain(`--l1 ${demo.l1} --l2 ${demo.l2[0]!.path}@0x${demo.l2[0]!.ipa.toString(16)}`);
    expect(demo.l2).toHaveLength(1);
  });

  it("offers the unmap strategies L0 registers", () => {
    expect([...UNMAP_NAMES]).toEqual([...UNMAP_STRATEGIES]);
  });

  it("lists only the scenario files, not their guests' sources", () => {
    const entries = catalog([...shippedScenarios, "scenarios/guests/alias.S", "guests/l1/hyp.S"]);
    const scenarios = entries.filter((e) => e.kind === "scenario");
    expect(scenarios.length).toBeGreaterThan(10);
    expect(scenarios.every((e) => e.kind === "scenario" && /^scenarios\/[^/]+\.yaml$/.test(e.path))).toBe(true);
  });

  it("needs only files that exist, includes and scenario images resolved", () => {
    for (const entry of catalog(shippedScenarios)) {
      const files = setupFiles(entry, repoText);
      for (const f of files) expect(existsSync(join(REPO_ROOT, f.path)), `${f.path} (${f.role})`).toBe(true);
      if (entry.kind === "guests") expect(files.some((f) => f.role === "include")).toBe(true);
      else expect(files.filter((f) => f.role === "L1")).toHaveLength(1);
    }
  });

  it("resolves .include relative to the including file, past labels", () => {
    expect(includesOf("guests/l1/hyp.S", '  .include "lib/defs.S"\nx: .include "../l2/lib/l2.S" // c\n// .include "no"\n')).toEqual([
      "guests/l1/lib/defs.S",
      "guests/l2/lib/l2.S",
    ]);
  });

  it("reads a scenario's images and VM options, and nothing from broken YAML", () => {
    const text = repoText("scenarios/revmap_stale.yaml")!;
    expect(scenarioImages("scenarios/revmap_stale.yaml", text)).toEqual([
      { path: "guests/l1/remap.S", role: "L1" },
      { path: "guests/l2/remap.S", role: "L2" },
    ]);
    expect(scenarioOptions(text)).toEqual({ unmap: "revmap", directMap: false });
    expect(scenarioOptions("vm: {vcpus: 2, seed: 3}\nchaos: {seed: 7, rate: 10}\n")).toEqual({ vcpus: 2, seed: 3, chaos: { seed: 7, rate: 10 } });
    expect(scenarioImages("scenarios/x.yaml", "images: [\n")).toEqual([]);
    expect(scenarioOptions(": : :")).toEqual({});
  });
});
