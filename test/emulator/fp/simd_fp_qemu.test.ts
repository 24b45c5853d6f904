// The vector FP instructions against QEMU 7.2 (-cpu max), a second reference beside the unicorn
// differential: fixtures/simd_fp_qemu.S folds every FRECPE/FRSQRTE/URECPE/URSQRTE table entry and
// random operands through the vector FP groups (every rounding mode, FZ, DN, AHP) into
// checksums. nvlab must print the checksums QEMU printed when they were recorded, and the same
// console as QEMU when qemu-system-aarch64 is installed.

import { describe, expect, it } from "vitest";
import { qemuAvailable } from "../../../lab/qemu.ts";
import { nvlab } from "../../helpers/bin.ts";

const PROGRAM = "test/emulator/fp/fixtures/simd_fp_qemu.S";
/** Estimate tables, FPSR after them, random operands: as printed by QEMU 7.2. */
const QEMU_CONSOLE = "592f1d0798c9b579\n0000000000000016\n6e9a41720a0c3162\n";

describe("vector FP against QEMU", () => {
  it("prints the checksums QEMU printed", async () => {
    const r = await nvlab("exec", PROGRAM, "--json", "--max-steps", "2000000");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { console: string }).console).toBe(QEMU_CONSOLE);
  }, 120_000);

  it.skipIf(!qemuAvailable())("prints the same console as qemu-system-aarch64", async () => {
    const r = await nvlab("exec", PROGRAM, "--qemu", "--json", "--max-steps", "2000000");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { console: string; qemu: unknown };
    expect(j.qemu).toMatchObject({ same: true, console: QEMU_CONSOLE });
  }, 120_000);
});
