// The C guests through the command line, as a user runs them: `nvlab run --l1 X.elf --l2 Y.elf@IPA`
// (ELF at its own addresses, or moved to a window), the same from the raw .bin files, a scenario
// whose images are the ELFs, every unmap strategy with the checker, chaos, and --qemu.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { UNMAP_STRATEGIES } from "../../../hypervisor/unmap/registry.ts";
import { nvlabInProcess } from "../../cli/in_process.ts";
import { qemuForTests } from "../../helpers/qemu_required.ts";
import { buildCGuests, C_BUILD_DIR, C_L1S, cGuestsBuildable, expectedConsole } from "./c_guests.ts";

const canBuild = cGuestsBuildable();
const build = (name: string): string => join(C_BUILD_DIR, name);
const ASM_L2 = "guests/l2/hello.S@0x49000000";

/** `nvlab run --json` of hyp_c-style L1 `l1` with hello_c in window 0 and hello.S in window 1. */
async function runJson(l1: string, l2: string, ...more: string[]) {
  const r = await nvlabInProcess("run", "--l1", l1, "--l2", l2, "--l2", ASM_L2, "--json", ...more);
  expect(r.stderr).toBe("");
  return { status: r.status, json: JSON.parse(r.stdout) as { exit: { kind: string; code: number; status: number }; console: string; chaos?: { injections: number } } };
}

describe.skipIf(!canBuild)("C guests through nvlab run", () => {
  beforeAll(() => buildCGuests(), 120_000);

  for (const l1 of C_L1S) {
    it(`${l1}.elf at its own addresses with hello_c.elf@0x48000000: the expected console, status 0`, async () => {
      const r = await nvlabInProcess("run", "--l1", build(`${l1}.elf`), "--l2", `${build("hello_c.elf")}@0x48000000`, "--l2", ASM_L2);
      expect(r.status).toBe(0);
      expect(r.stdout.startsWith(expectedConsole(l1))).toBe(true);
      expect(r.stdout).toContain("exit: PSCI SYSTEM_OFF, code 0");
    });
  }

  it("the raw .bin files give the same run: L1 at the default 0x40100000, L2 at its @IPA", async () => {
    const elf = await runJson(build("hyp_c.elf"), `${build("hello_c.elf")}@0x48000000`);
    const bin = await runJson(build("hyp_c.bin"), `${build("hello_c.bin")}@0x48000000`);
    expect(bin.status).toBe(0);
    expect(bin.json.console).toBe(expectedConsole("hyp_c"));
    expect(bin.json).toEqual(elf.json);
  });

  it("an L2 ELF linked at nested IPA 0x40000000 is moved as a whole to any window", async () => {
    const r = await nvlabInProcess("run", "--l1", build("hyp_c.elf"), "--l2", "guests/l2/hello.S@0x48000000", "--l2", `${build("hello_c.elf")}@0x49000000`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("L1: remapped L2 #1 leaf 0x40200000 (4 KiB) with TLBI IPAS2E1IS\nC L2: remap: after  0xfedcba9876543210\nC L2: PASS\n");
    expect(r.stdout).toContain("L1: L2 #1 exited with code 0, stage-2 faults: 29\n");
  });

  for (const unmap of UNMAP_STRATEGIES) {
    it(`hyp_c under --unmap ${unmap} --check: a clean checker and the expected console`, async () => {
      const r = await runJson(build("hyp_c.elf"), `${build("hello_c.elf")}@0x48000000`, "--unmap", unmap, "--check");
      // A violated invariant stops the run (monitor-stop, status 126): system-off with 0 is a clean report.
      expect(r.json.exit).toMatchObject({ kind: "system-off", code: 0, status: 0 });
      expect(r.status).toBe(0);
      expect(r.json.console).toBe(expectedConsole("hyp_c"));
    });
  }

  for (const [l1, unmap] of [["hyp_c", "revmap"], ["hyp_c_2m", "accel"], ["hyp_c_16k", "full"], ["hyp_c_64k", "rfc-rbtree"]] as const) {
    it(`${l1} under --chaos (checker on) with --unmap ${unmap}: L0's injections are invisible to the guests`, async () => {
      const r = await runJson(build(`${l1}.elf`), `${build("hello_c.elf")}@0x48000000`, "--unmap", unmap, "--chaos", "15", "--chaos-rate", "5");
      expect(r.json.exit).toMatchObject({ kind: "system-off", code: 0, status: 0 });
      // The same console, the stage-2 fault counts the L1 prints included.
      expect(r.json.console).toBe(expectedConsole(l1));
      expect(r.json.chaos!.injections).toBeGreaterThan(0);
    });
  }

  it("a scenario whose images are the C ELFs (L1 at its own addresses, the L2 moved to its window)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-c-scenario-"));
    const file = join(dir, "c_pair.yaml");
    writeFileSync(
      file,
      "name: c-pair\nimages:\n" +
        `  l1: {file: ${build("hyp_c.elf")}}\n` +
        `  l2:\n    - {file: ${build("hello_c.elf")}, ipa: 0x48000000}\n` +
        `    - {file: ${join(process.cwd(), "guests/l2/hello.S")}, ipa: 0x49000000}\n` +
        "chaos: {seed: 3, rate: 10}\n" +
        "expect:\n  exitCode: 0\n  invariants: hold\n  console: 'C L2: PASS'\n",
    );
    const r = await nvlabInProcess("run", file, "--unmap", "revmap");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  describe.skipIf(!qemuForTests("the C guests under nvlab run --qemu"))("--qemu", () => {
    for (const l1 of C_L1S) {
      it(`${l1}.elf with hello_c.elf moved to 0x48000000: the same console on QEMU`, async () => {
        const r = await runJson(build(`${l1}.elf`), `${build("hello_c.elf")}@0x48000000`, "--qemu");
        expect(r.status).toBe(0);
        expect((r.json as unknown as { qemu: { same: boolean; console: string } }).qemu).toMatchObject({ same: true, console: expectedConsole(l1) });
      });
    }

    it("the raw .bin pair, and hyp_c_smp on 2 vCPUs: the same console on QEMU", async () => {
      const bin = await runJson(build("hyp_c.bin"), `${build("hello_c.bin")}@0x48000000`, "--qemu");
      expect(bin.status).toBe(0);
      const smp = await nvlabInProcess("run", "--l1", build("hyp_c_smp.elf"), "--l2", `${build("hello_c.elf")}@0x48000000`, "--l2", ASM_L2, "--vcpus", "2", "--qemu");
      expect(smp.stdout).toMatch(/^qemu: same console as qemu-system-aarch64 \(\d+ bytes\)$/m);
      expect(smp.status).toBe(0);
    });
  });
});
