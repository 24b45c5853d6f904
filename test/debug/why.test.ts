// The debugger's `why` command: its arguments, and one call from their text to the lines printed.

import { beforeAll, describe, expect, it } from "vitest";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { CanonicalIpa, HostPa } from "../../hypervisor/addr.ts";
import { Kvm } from "../../hypervisor/vm.ts";
import { DebugError } from "../../debug/errors.ts";
import { parseWhyArgs, WHY_LIMIT, whyCommand } from "../../debug/why.ts";
import { bootPair, E2E_MAX_STEPS, l1Path, l2Path } from "../e2e/harness.ts";

describe("parseWhyArgs", () => {
  it("reads the address, a space, a shadow MMU and `all`", () => {
    expect(parseWhyArgs("0x40001000")).toEqual({ addr: 0x4000_1000n, space: "auto", all: false });
    expect(parseWhyArgs(" 0x4000_1000  NIPA mmu2 all ")).toEqual({ addr: 0x4000_1000n, space: "nipa", mmu: 2, all: true });
    expect(parseWhyArgs("4096 pa")).toEqual({ addr: 4096n, space: "pa", all: false });
  });

  it("says what is wrong", () => {
    expect(() => parseWhyArgs("")).toThrow(new DebugError("usage: why ADDR [nipa|ipa|pa|auto] [mmuN] [all]"));
    expect(() => parseWhyArgs("main")).toThrow(/address: 'main' is not a number/);
    expect(() => parseWhyArgs("0x1000 gpa")).toThrow(/why: 'gpa' is not a space \(nipa, ipa, pa, auto\), mmuN or all/);
    expect(() => parseWhyArgs("0x1000 mmu1")).toThrow(/mmuN names a shadow MMU.*add nipa/);
  });
});

describe("whyCommand", () => {
  let kvm: Kvm;
  beforeAll(async () => {
    kvm = await bootPair(l1Path("remap"), [l2Path("remap")]);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
  });

  it("answers in lines: a heading, then one event a line, step first", () => {
    const lines = whyCommand(kvm, "0x40001000 nipa mmu0");
    expect(lines[0]).toBe("why 0x40001000 (nested IPA of mmu0):");
    const events = lines.filter((l) => /^\s+\d+ {2}\S/.test(l));
    expect(events.length).toBeGreaterThan(5);
    expect(events[0]).toMatch(/^\s+\d+ {2}shadow-fault /);
    expect(events.some((l) => / s2-table-write  vCPU 0 L1 pc=0x[0-9a-f]+ store /.test(l))).toBe(true);
  });

  it("shows the newest WHY_LIMIT events unless told `all`", () => {
    const vm = new Kvm({ memory: 0x1000_0000n });
    for (let i = 0; i < WHY_LIMIT + 10; i++) vm.events.add({ kind: "canonical-fault", ipa: 0x4800_0000n as CanonicalIpa, pa: 0x10_0000_0000n as HostPa, size: 0x20_0000n }, i);
    const few = whyCommand(vm, "0x48001000");
    expect(few[0]).toBe("why 0x48001000 (canonical IPA: inside L1 RAM (memslot 0x40000000..0x50000000); say nipa for L2's view):");
    expect(few.filter((l) => l.includes("canonical-fault"))).toHaveLength(WHY_LIMIT);
    expect(few.at(-1)).toBe("  … 10 older");
    const every = whyCommand(vm, "0x48001000 all");
    expect(every.filter((l) => l.includes("canonical-fault"))).toHaveLength(WHY_LIMIT + 10);
    expect(every.at(-1)).toMatch(/^\s+0 {2}canonical-fault /);
  });
});
