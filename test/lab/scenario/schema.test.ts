// Scenario files are validated before anything runs: every problem is reported with the scenario
// file, the line:column it comes from and the field path, unknown keys are errors, and a valid
// file comes out typed (addresses as bigint, defaults left to the runner).

import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../../lab/scenario/run.ts";
import { parseScenario } from "../../../lab/scenario/schema.ts";
import { problems } from "./problems.ts";

const BASE = `name: t
images:
  l1: {file: ../guests/l1/hyp.S}
expect:
  invariants: hold
`;

describe("scenario schema", () => {
  it("accepts a complete scenario: hex and K/M/G values become bigints, triggers and actions typed", () => {
    const s = parseScenario(
      `name: full
description: every field
images:
  l1: {file: a.S, ipa: 0x40100000}
  l2:
    - {file: b.S, ipa: "0x4800_0000"}
vm: {vcpus: 1, memory: 256M, nestedMmus: 64, unmap: accel, directMap: true, blocks: false, seed: 3, poolPages: 100000}
maxSteps: 1000000
timeline:
  - at: {step: 10}
    do: {unmapCanonical: {ipa: 0x48000000, size: 2M}}
  - at: {exits: 5}
    do: {failRevmapStores: 2}
    repeat: {every: 10, times: 3}
  - at: {shadowFaults: 4}
    do: {recycle: {mmu: any-valid}}
  - at: {event: {kind: tlbi, match: "^IPAS2E1", nth: 2}}
    do: {tlbi: {op: ipas2e1is, operand: 0x40001}}
expect:
  exitCode: 0
  console: "^hello$"
  invariants: {violated: S}
  metrics:
    shadowMmusVisited: {max: 1}
    revmap.staleEntries.max: {min: 1, eq: 2}
`,
      "s.yaml",
    );
    expect(s.images.l2![0]!.ipa).toBe(0x4800_0000n);
    expect(s.vm!.memory).toBe(256n << 20n);
    expect(s.timeline![0]!.do.unmapCanonical).toEqual({ ipa: 0x4800_0000n, size: 0x20_0000n });
    expect(s.timeline![1]!.repeat).toEqual({ every: 10, times: 3 });
    expect(s.timeline![2]!.do.recycle).toEqual({ mmu: "any-valid" });
    expect(s.timeline![3]!.at.event).toEqual({ kind: "tlbi", match: "^IPAS2E1", nth: 2 });
    expect(s.timeline![3]!.do.tlbi).toEqual({ op: "ipas2e1is", operand: 0x40001n });
    expect(s.expect.invariants).toEqual({ violated: "S" });
  });

  it("wrong type: names the field path and its line:col", () => {
    expect(problems(BASE + "timeline:\n  - at: {exits: -1}\n    do: {failRevmapStores: 2}\n")).toEqual([
      "s.yaml:7:17: timeline[0].at.exits: expected a positive integer",
    ]);
    expect(problems(BASE.replace("name: t", "name: 12"))).toEqual(["s.yaml:1:7: name: expected a string"]);
    expect(problems(BASE + "vm:\n  directMap: yes please\n")).toEqual(["s.yaml:7:14: vm.directMap: expected true or false"]);
    expect(problems(BASE + "vm: {unmap: lazy}\n")).toEqual(["s.yaml:6:13: vm.unmap: expected one of: full, revmap, accel, rfc-rbtree"]);
    expect(problems(BASE + "vm: {revmapTlbi: v2}\n")).toEqual(["s.yaml:6:18: vm.revmapTlbi: expected one of: seed, v3"]);
    expect(problems(BASE + "timeline:\n  - at: {exits: 1}\n    do: {failStores: {store: pgtable, count: 1}}\n")).toEqual([
      "s.yaml:8:30: timeline[0].do.failStores.store: expected one of: revmap, accel, directMap",
    ]);
    expect(problems(BASE + "vm: {stage2UnmapSplit: 1}\n")).toHaveLength(1);
    expect(problems(BASE + "vm: {stage2UnmapSplit: 1}\n")[0]).toMatch(/vm\.stage2UnmapSplit: expected true or false/);
    expect(problems(BASE + "chaos: {seed: -1}\n")[0]).toMatch(/^s\.yaml:6:\d+: chaos\.seed: /);
    expect(problems(BASE + "chaos: {seed: 1, rate: 0}\n")[0]).toMatch(/^s\.yaml:6:\d+: chaos\.rate: expected a positive integer/);
    expect(problems(BASE + "chaos: {rate: 5}\n")[0]).toMatch(/chaos\.seed/);
  });

  it("failStores takes a store and a positive count; failRevmapStores still works", () => {
    const ok = BASE + "vm: {revmapTlbi: v3}\ntimeline:\n  - at: {exits: 1}\n    do: {failStores: {store: accel, count: 2}}\n  - at: {exits: 2}\n    do: {failRevmapStores: 1}\n";
    const s = parseScenario(ok, "s.yaml");
    expect(s.vm?.revmapTlbi).toBe("v3");
    expect(s.timeline![0]!.do.failStores).toEqual({ store: "accel", count: 2 });
    expect(s.timeline![1]!.do.failRevmapStores).toBe(1);
    expect(problems(BASE + "timeline:\n  - at: {exits: 1}\n    do: {failStores: {store: accel, count: 0}}\n")[0]).toMatch(/failStores\.count: expected a positive integer/);
  });

  it("64-bit values that do not fit are refused with the field path, not wrapped (0x1_0000_0000_0000_0000 used to unmap 0)", () => {
    expect(problems(BASE + 'timeline:\n  - at: {step: 1}\n    do: {unmapCanonical: {ipa: "0x10000000000000000"}}\n')).toEqual([
      "s.yaml:8:32: timeline[0].do.unmapCanonical.ipa: 0x10000000000000000 does not fit in 64 bits (at most 0xffffffffffffffff)",
    ]);
    expect(problems(BASE + 'timeline:\n  - at: {step: 1}\n    do: {tlbi: {op: vmalls12e1is, operand: "17179869184G"}}\n')).toEqual([
      "s.yaml:8:44: timeline[0].do.tlbi.operand: 17179869184G does not fit in 64 bits (at most 0xffffffffffffffff)",
    ]);
    // Unquoted, YAML has already rounded the value to a float: say so rather than "expected an integer".
    expect(problems(BASE + "timeline:\n  - at: {step: 1}\n    do: {split: {ipa: 0x10000000000000000}}\n")).toEqual([
      's.yaml:8:23: timeline[0].do.split.ipa: 18446744073709552000 is too large for a YAML number to hold exactly: quote it ("0x…")',
    ]);
    expect(parseScenario(BASE + 'timeline:\n  - at: {step: 1}\n    do: {tlbi: {op: vmalls12e1is, operand: "0xffff_ffff_ffff_ffff"}}\n', "s.yaml").timeline![0]!.do.tlbi!.operand).toBe(
      (1n << 64n) - 1n,
    );
  });

  it("vm.vcpus: 1 to KVM_MAX_VCPUS (512)", () => {
    expect(parseScenario(BASE + "vm: {vcpus: 512}\n", "s.yaml").vm!.vcpus).toBe(512);
    expect(problems(BASE + "vm: {vcpus: 513}\n")).toEqual(["s.yaml:6:13: vm.vcpus: expected 1 to 512 vCPUs (KVM_MAX_VCPUS on arm64, also QEMU virt's limit)"]);
    expect(problems(BASE + "vm: {vcpus: 0}\n")).toEqual(["s.yaml:6:13: vm.vcpus: expected 1 to 512 vCPUs (KVM_MAX_VCPUS on arm64, also QEMU virt's limit)"]);
  });

  it("image addresses must fit in 64 bits and be 4-byte aligned, named in hex", () => {
    expect(problems(BASE.replace("{file: ../guests/l1/hyp.S}", '{file: ../guests/l1/hyp.S, ipa: "0x10000000040100000"}'))).toEqual([
      "s.yaml:3:39: images.l1.ipa: 0x10000000040100000 does not fit in 64 bits (at most 0xffffffffffffffff)",
    ]);
    expect(problems(BASE.replace("{file: ../guests/l1/hyp.S}", "{file: ../guests/l1/hyp.S}\n  l2: [{file: b.S, ipa: 0x48000001}]"))).toEqual([
      "s.yaml:4:25: images.l2[0].ipa: 0x48000001 is not a multiple of 4 (an image starts with an instruction, and instructions are 4-byte aligned)",
    ]);
  });

  it("unknown keys are errors, at the key's own position", () => {
    expect(problems(BASE + "vm:\n  vcpu: 2\n")).toEqual(['s.yaml:7:3: vm.vcpu: unknown key "vcpu"']);
    expect(problems(BASE + "extra: 1\n")).toEqual(['s.yaml:6:1: extra: unknown key "extra"']);
    expect(problems(BASE.replace("invariants: hold", "invariants: hold\n  exit: 0"))).toEqual(['s.yaml:6:3: expect.exit: unknown key "exit"']);
  });

  it("missing images (and a missing L1 file) are reported as required", () => {
    expect(problems("name: t\nexpect: {}\n")).toEqual(["s.yaml:1:1: images: is required"]);
    expect(problems("name: t\nimages: {l1: {ipa: 0x40100000}}\nexpect: {}\n")).toEqual(["s.yaml:2:14: images.l1.file: is required"]);
  });

  it("a bad regular expression is reported with the engine's reason", () => {
    const p = problems(BASE.replace("invariants: hold", 'console: "a(b"'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^s\.yaml:5:12: expect\.console: invalid regular expression: .*Unterminated group/);
    expect(problems(BASE + 'timeline:\n  - at: {event: {kind: tlbi, match: "[x"}}\n    do: {failRevmapStores: 1}\n')[0]).toMatch(
      /^s\.yaml:7:37: timeline\[0\]\.at\.event\.match: invalid regular expression/,
    );
  });

  it("bad triggers and actions: none, two at once, an unknown TLBI", () => {
    const p = problems(
      BASE +
        `timeline:
  - at: {}
    do: {failRevmapStores: 1}
  - at: {step: 5, exits: 3}
    do: {failRevmapStores: 1, recycle: {mmu: 0}}
  - at: {step: 1}
    do: {tlbi: {op: IPAS2E9}}
  - at: {steps: 1}
    do: {recycle: {mmu: -1}}
`,
    );
    expect(p).toEqual([
      "s.yaml:7:9: timeline[0].at: a trigger needs one of: step, exits, shadowFaults, event",
      "s.yaml:9:9: timeline[1].at: a trigger takes only one of: step, exits",
      "s.yaml:10:9: timeline[1].do: an action takes only one of: failRevmapStores, recycle",
      "s.yaml:12:21: timeline[2].do.tlbi.op: not a TLBI operation (e.g. IPAS2E1IS, VMALLS12E1IS)",
      "s.yaml:13:9: timeline[3].at: a trigger needs one of: step, exits, shadowFaults, event",
      's.yaml:13:10: timeline[3].at.steps: unknown key "steps"',
      's.yaml:14:25: timeline[3].do.recycle.mmu: expected a shadow MMU index or "any-valid"',
    ]);
  });

  it("invariants and metric bounds: only the documented forms", () => {
    expect(problems(BASE.replace("invariants: hold", "invariants: {violated: Q}"))).toEqual([
      's.yaml:5:15: expect.invariants: expected "hold" or {violated: S|R|A|L|T}',
    ]);
    expect(problems(BASE + "  metrics: {shadowFaults: {}}\n")).toEqual(["s.yaml:6:27: expect.metrics.shadowFaults: give at least one of min, max, eq"]);
  });

  it("YAML syntax errors carry their position", () => {
    const p = problems("name: [x\n");
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^s\.yaml:\d+:\d+: /);
  });

  it("a recycle of an MMU the VM does not have is refused before the run", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nvlab-scenario-"));
    const file = join(dir, "x.yaml");
    await writeFile(
      file,
      `name: x
images:
  l1: {file: ${join(process.cwd(), "guests/l1/hyp.S")}}
  l2: [{file: ${join(process.cwd(), "guests/l2/hello.S")}, ipa: 0x48000000}]
timeline:
  - at: {exits: 1}
    do: {recycle: {mmu: 7}}
expect: {exitCode: 0}
`,
    );
    await expect(runScenario(file)).rejects.toThrow(/timeline\[0\]\.do\.recycle\.mmu: no shadow MMU 7 \(the VM has 2\)/);
  });
});
