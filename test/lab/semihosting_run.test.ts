// Semihosting under `nvlab run`: the CPU model serves `hlt #0xf000` at L1's and at L2's EL1, so
// neither L0 nor L1 takes an exit for it; SYS_EXIT ends the run as SYSTEM_OFF does.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCommand, runExitCode } from "../../cli/run.ts";
import { ADP_STOPPED_APPLICATION_EXIT, SYS } from "../../emulator/semihosting.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-semihosting-run-"));

/** Print `text` with WRITE0, then SYS_EXIT with ApplicationExit and `code`. */
function guest(name: string, text: string, code: number): string {
  const p = join(dir, name);
  writeFileSync(p, `adr x1, msg
mov w0, #${SYS.WRITE0}
hlt #0xf000
adr x1, blk
mov w0, #${SYS.EXIT}
hlt #0xf000
b .
msg: .asciz "${text}\\n"
.balign 8
blk: .quad ${ADP_STOPPED_APPLICATION_EXIT}, ${code}
`);
  return p;
}

const base = { memory: 256n << 20n, vcpus: 1, maxSteps: 5_000_000 };

describe("semihosting under nvlab run", () => {
  it("serves L2's calls: console output beside the UART's, SYS_EXIT's code as the run's", async () => {
    const l2 = guest("l2.S", "semihosted L2", 9);
    const r = await runCommand({
      ...base,
      l1: { file: "guests/l1/hyp.S", ipa: null },
      l2: [{ file: l2, ipa: 0x4800_0000n }],
      semihosting: { root: null },
    });
    expect(r.outcome).toEqual({ kind: "system-off", code: 9 });
    expect(runExitCode(r.outcome)).toBe(9);
    expect(r.console).toContain("semihosted L2\n");
    const off = await runCommand({ ...base, maxSteps: 200_000, l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: l2, ipa: 0x4800_0000n }] });
    expect(off.outcome).not.toEqual({ kind: "system-off", code: 9 });
    expect(off.console).not.toContain("semihosted");
  });

  it("a call whose block L0 has not yet mapped for L2 faults to L0 and runs again, printing once", async () => {
    const p = join(dir, "l2far.S");
    // The string and the exit block on pages of their own, first touched by the calls.
    writeFileSync(p, `adr x1, msg
mov w0, #${SYS.WRITE0}
hlt #0xf000
adr x1, blk
mov w0, #${SYS.EXIT}
hlt #0xf000
b .
.balign 4096
.space 4090
msg: .asciz "across pages\\n"
.balign 4096
blk: .quad ${ADP_STOPPED_APPLICATION_EXIT}, 4
`);
    const events: string[] = [];
    const r = await runCommand({
      ...base,
      l1: { file: "guests/l1/hyp.S", ipa: null },
      l2: [{ file: p, ipa: 0x4800_0000n }],
      semihosting: { root: null },
      onEvent: (l) => events.push(l),
    });
    expect(r.outcome).toEqual({ kind: "system-off", code: 4 });
    expect(r.console.split("across pages").length).toBe(2);
    // Each data page is first reached by a call: a stage-2 abort from L2 at the hlt (0x40000008 for
    // WRITE0, whose string crosses into a second page; 0x40000014 for EXIT), taken to L1 and retried.
    const at = (elr: string) => events.filter((l) => l.includes("exit") && l.includes("DABT_LOW from L2") && l.includes(`elr=${elr}`)).length;
    expect(at("0x40000008")).toBeGreaterThanOrEqual(2);
    expect(at("0x40000014")).toBeGreaterThanOrEqual(1);
  });

  it("serves L1's calls", async () => {
    const r = await runCommand({ ...base, l1: { file: guest("l1.S", "semihosted L1", 0), ipa: null }, l2: [], semihosting: { root: null } });
    expect(r.outcome).toEqual({ kind: "system-off", code: 0 });
    expect(r.console).toBe("semihosted L1\n");
  });

  it("is off unless asked: L1's HLT is UNDEFINED and nothing is printed", async () => {
    const r = await runCommand({ ...base, l1: { file: guest("l1off.S", "not served", 0), ipa: null }, l2: [] });
    expect(r.outcome.kind).not.toBe("system-off");
    expect(r.console).toBe("");
  });

  it("the bin: nvlab run --semihosting exits with the L2's code", async () => {
    const l2 = guest("l2bin.S", "from the bin", 5);
    const r = await nvlab("run", "--l1", "guests/l1/hyp.S", "--l2", `${l2}@0x48000000`, "--semihosting");
    expect(r.stdout).toContain("from the bin");
    expect(r.code).toBe(5);
  });
});
