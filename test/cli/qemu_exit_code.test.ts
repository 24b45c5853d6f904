// How `--qemu` compares exit codes: QEMU exits with a semihosting SYS_EXIT's code (its low 8 bits),
// and with 0 after PSCI SYSTEM_OFF whatever code nvlab's convention put in x1.

import { describe, expect, it } from "vitest";
import { comparisonText, exitCodeDifference, type QemuComparison } from "../../cli/qemu_compare.ts";

describe("--qemu exit codes", () => {
  it("a known semihosting exit must be QEMU's exit status, modulo 256", () => {
    expect(exitCodeDifference({ nvlab: 7, known: true }, 7)).toBeNull();
    expect(exitCodeDifference({ nvlab: 0x107, known: true }, 7)).toBeNull();
    expect(exitCodeDifference({ nvlab: 7, known: true }, 0)).toBe("the exit code differs: nvlab 7, qemu-system-aarch64 exit status 0");
  });

  it("a run's code is compared only when QEMU exits non-zero (SYSTEM_OFF exits 0 on QEMU)", () => {
    expect(exitCodeDifference({ nvlab: 3, known: false }, 0)).toBeNull();
    expect(exitCodeDifference({ nvlab: 3, known: false }, 3)).toBeNull();
    expect(exitCodeDifference({ nvlab: 0, known: false }, 3)).toBe("the exit code differs: nvlab 0, qemu-system-aarch64 exit status 3");
  });

  it("no comparison when QEMU was stopped or nothing is expected", () => {
    expect(exitCodeDifference({ nvlab: 7, known: true }, null)).toBeNull();
    expect(exitCodeDifference(undefined, 5)).toBeNull();
  });

  it("says which differs: the exit code, the console, or both", () => {
    const c: QemuComparison = { same: false, console: "a\n", diff: "", ended: "exited", status: 1, exitDiffers: "the exit code differs: nvlab 7, qemu-system-aarch64 exit status 1", command: [] };
    expect(comparisonText(c, 10_000)).toBe("qemu: the exit code differs: nvlab 7, qemu-system-aarch64 exit status 1\nqemu: same console as qemu-system-aarch64 (2 bytes)");
    expect(comparisonText({ ...c, same: true, exitDiffers: null }, 10_000)).toBe("qemu: same console as qemu-system-aarch64 (2 bytes), exit status 1");
  });
});
