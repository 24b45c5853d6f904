// `why ADDR`: the history of the translations covering an address, in each space, newest first;
// the checker's report ends with it (rfc_rbtree_flaw: the injected unmap the strategy missed);
// snapshots restore what it answers.

import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { EventKind } from "../../hypervisor/event_data.ts";
import { kvmArchVcpuRun } from "../../hypervisor/scheduler.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { runScenario } from "../../lab/scenario/run.ts";
import { restoreSnapshot, takeSnapshot } from "../../lab/snapshot/vm_snapshot.ts";
import { formatWhy, why, type WhyResult } from "../../lab/why.ts";
import { bootPair, E2E_MAX_STEPS, l1Path, l2Path } from "../e2e/harness.ts";
import { REPO_ROOT } from "../qemu/pairs.ts";

const TARGET = 0x4000_1000n; // L2's page remap.S moves
const OLD_PAGE = 0x4800_1000n; // canonical page it first maps to
const L3_TABLE = 0x4400_2000n; // L1's level-3 table holding its descriptor

const kinds = (r: WhyResult): EventKind[] => r.entries.map((e) => e.kind);
const steps = (r: WhyResult): number[] => r.entries.map((e) => e.step);

describe("why, after L1 remapped an L2 page (remap+remap)", () => {
  let kvm: Kvm;
  let newPage: bigint;
  beforeAll(async () => {
    kvm = await bootPair(l1Path("remap"), [l2Path("remap")]);
    expect(kvmArchVcpuRun(kvm.vcpus[0]!, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    newPage = kvm.nestedMmus[0]!.shadowOrigin.get(TARGET)!;
  });

  it("a nested IPA: its shadow leaves, the descriptor writes translating it, the fault injected for it, the TLBI; newest first", () => {
    const r = why(kvm, TARGET, "nipa");
    expect(r.space).toBe("nipa");
    expect(r.chosen).toBeNull();
    expect(r.canonical).toEqual([newPage, OLD_PAGE]);
    const direct = r.entries.filter((e) => e.via === null);
    expect(direct.map((e) => e.kind)).toEqual(["shadow-fault", "s2-table-write", "tlbi", "s2-table-write", "shadow-fault", "s2-table-write", "inject", "s2-table-write"]);
    expect(steps(r)).toEqual([...steps(r)].sort((a, b) => b - a));
    const [make, brk] = direct.filter((e) => e.kind === "s2-table-write");
    expect(make!.data).toMatchObject({ old: 0n, new: newPage | 0x7ffn });
    expect(brk!.data).toMatchObject({ old: OLD_PAGE | 0x7ffn, new: 0n });
    expect(make!).toMatchObject({ vcpu: 0, level: "L1" });
    expect(make!.pc).toBe((make!.data as { pc: bigint }).pc);
    // The last is L1's level-1 entry covering the whole first 1G of nested IPA.
    expect(direct.at(-1)!.data).toMatchObject({ tableLevel: 1, span: 0x4000_0000n });
    expect(r.now).toEqual([expect.stringMatching(/^mmu0 maps nested 0x40001000\+0x1000 -> host PA /), expect.any(String), expect.any(String)]);
    // Another MMU's view of the same address has no history.
    expect(why(kvm, TARGET, "nipa", { mmu: 1 }).entries.filter((e) => e.kind === "shadow-fault")).toEqual([]);
  });

  it("a canonical IPA: the leaves mapping it and the descriptor writes whose output it was, not the others", () => {
    const old = why(kvm, OLD_PAGE, "ipa");
    expect(kinds(old)).toEqual(["s2-table-write", "canonical-fault", "shadow-fault", "s2-table-write"]);
    expect(old.entries.map((e) => e.via)).toEqual([null, null, null, null]);
    const now = why(kvm, newPage, "ipa");
    expect(kinds(now)).toEqual(["shadow-fault", "s2-table-write", "canonical-fault"]);
    expect(now.entries[1]!.data).toMatchObject({ new: newPage | 0x7ffn });
  });

  it("an L1 table page: every descriptor write into it", () => {
    const r = why(kvm, L3_TABLE, "ipa");
    expect(kinds(r).filter((k) => k === "s2-table-write")).toHaveLength(3);
    expect(r.now[0]).toMatch(/an L1 stage-2 table page$/);
  });

  it("a host PA: the canonical IPA it backs, and what mapped it", () => {
    const pa = BigInt(kvm.memslots[0]!.hostPa(newPage)!);
    const r = why(kvm, pa + 0x10n, "pa");
    expect(r.canonical).toEqual([newPage + 0x10n]);
    expect(kinds(r)).toEqual(["shadow-fault", "s2-table-write", "canonical-fault"]);
    expect(r.entries[1]!.via).toBe(newPage + 0x10n);
    expect(r.now.at(-1)).toMatch(/allocated in L0's pool$/);
  });

  it("auto: L1 RAM is a canonical IPA, L0's pool a host PA, anything else a nested IPA", () => {
    expect(why(kvm, OLD_PAGE).space).toBe("ipa");
    expect(why(kvm, OLD_PAGE).chosen).toMatch(/inside L1 RAM/);
    expect(why(kvm, BigInt(kvm.memslots[0]!.hostPa(newPage)!)).space).toBe("pa");
    const far = why(kvm, 0x8000_0000n);
    expect(far.space).toBe("nipa");
    expect(far.entries).toEqual([]);
    expect(formatWhy(far)).toEqual(["why 0x80000000 (nested IPA: outside L1 RAM and host memory):", "  no event in the history touches it"]);
  });

  it("formats one line per event, its step first, newest first, and says how many it left out", () => {
    const r = why(kvm, TARGET, "nipa", { limit: 3 });
    expect(r.entries).toHaveLength(3);
    expect(r.more).toBeGreaterThan(0);
    const lines = formatWhy(r);
    expect(lines[0]).toBe("why 0x40001000 (nested IPA):");
    const events = lines.filter((l) => /^\s+\d+ {2}/.test(l));
    expect(events.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(steps(r));
    expect(events[0]).toMatch(/^\s+\d+ {2}shadow-fault {4}mmu0 nested 0x40001000 -> /);
    expect(lines.at(-1)).toBe(`  … ${r.more} older`);
  });
});

describe("the checker's report ends with the why of the offending page", () => {
  it("rfc_rbtree_flaw: the stale 2M leaf's page, followed to its canonical page, names the scenario's unmap", async () => {
    const r = await runScenario(join(REPO_ROOT, "scenarios", "rfc_rbtree_flaw.yaml"));
    expect(r.outcome.kind).toBe("monitor-stop");
    if (r.outcome.kind !== "monitor-stop") return;
    const w = r.outcome.details.why as string[];
    expect(w[0]).toBe("why 0x40100000 (nested IPA of mmu0):");
    expect(w).toContain("  followed to canonical 0x48100000");
    const events = w.filter((l) => /^\s+\d+ {2}/.test(l)).map((l) => l.trim().replace(/\s+/g, " "));
    // Newest first: the unmap the rfc-rbtree missed (0 removed), the injection that asked for it, the 2M leaf.
    expect(events[2]).toMatch(/^\d+ chaos scenario: unmap canonical 0x48100000\+0x1000 \[via canonical 0x48100000\]$/);
    expect(events[1]).toMatch(/unmap nested \(rfc-rbtree\) 0x48100000\+0x1000: .* 0 shadow entries removed/);
    expect(events[3]).toMatch(/shadow-fault mmu0 nested 0x40000000 -> canonical 0x48000000 -> PA 0x\w+ size 0x200000/);
    // The report's text ends with it.
    const text = r.outcome.message.split("\n");
    expect(text.slice(-w.length)).toEqual(w.map((l) => `  ${l}`));
  });
});

describe("snapshots restore the provenance record", () => {
  it("after a restore, why answers as it did at the snapshot; run on, as it did the first time", async () => {
    const kvm = await bootPair(l1Path("remap"), [l2Path("remap")]);
    const vcpu = kvm.vcpus[0]!;
    // Before the remap (its break is past step 5000).
    expect(kvmArchVcpuRun(vcpu, 4500).kind).toBe("budget");
    const ask = (): string[][] => [
      formatWhy(why(kvm, TARGET, "nipa", { limit: Infinity })),
      formatWhy(why(kvm, L3_TABLE, "ipa", { limit: Infinity })),
      formatWhy(why(kvm, OLD_PAGE, "ipa", { limit: Infinity })),
    ];
    const atSnapshot = ask();
    const snap = takeSnapshot(kvm);
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    const atEnd = ask();
    expect(atEnd).not.toEqual(atSnapshot);
    restoreSnapshot(kvm, snap);
    expect(ask()).toEqual(atSnapshot);
    // The table pages are still tracked: the remap's writes are reported again.
    expect(kvmArchVcpuRun(vcpu, E2E_MAX_STEPS)).toEqual({ kind: "system-off", code: 0 });
    expect(ask()).toEqual(atEnd);
  });
});
