// The QEMU runner's process handling, on stand-in commands: settling on the expected console, the
// timeout, and a missing binary.

import { describe, expect, it } from "vitest";
import { assemble } from "../../asm/assembler.ts";
import { qemuAvailable, QemuMissingError, runImagesOnQemu, runQemuCommand } from "../../lab/qemu.ts";
import { qemuCommand } from "../../lab/qemu_command.ts";

const sh = (script: string): string[] => ["sh", "-c", script];

describe("runQemuCommand", () => {
  it("stops a guest that never powers off once its console equals the expected one and stays quiet", async () => {
    const t = Date.now();
    const r = await runQemuCommand(sh("printf a; sleep 0.3; printf b; exec sleep 30"), { timeoutMs: 20_000, settle: { expected: "ab", quietMs: 200 } });
    expect(r).toMatchObject({ console: "ab", settled: true, exitedCleanly: false });
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it("waits out the quiet time after the console has left the expected one, and keeps what comes in it", async () => {
    const r = await runQemuCommand(sh("printf x; sleep 0.1; printf y; exec sleep 30"), { timeoutMs: 20_000, settle: { expected: "ab", quietMs: 400 } });
    expect(r).toMatchObject({ console: "xy", settled: true });
  });

  it("a console still on its way to the expected one runs to the timeout", async () => {
    const r = await runQemuCommand(sh("printf ab; exec sleep 30"), { timeoutMs: 600, settle: { expected: "abc", quietMs: 100 } });
    expect(r).toMatchObject({ console: "ab", settled: false, exitedCleanly: false });
  });

  it("a command that exits 0 by itself exited cleanly", async () => {
    const r = await runQemuCommand(sh("printf done"), { timeoutMs: 5_000 });
    expect(r).toMatchObject({ console: "done", settled: false, exitedCleanly: true });
  });

  it("a missing binary is a QemuMissingError naming it, and is not available", async () => {
    await expect(runQemuCommand(["no-such-qemu-system-aarch64"], { timeoutMs: 1_000 })).rejects.toThrow(QemuMissingError);
    await expect(runQemuCommand(["no-such-qemu-system-aarch64"], { timeoutMs: 1_000 })).rejects.toThrow(
      "no-such-qemu-system-aarch64 is not installed (or not on PATH): --qemu needs it (Debian: apt-get install qemu-system-arm)",
    );
    expect(qemuAvailable("no-such-qemu-system-aarch64")).toBe(false);
  });
});

describe("qemuCommand machines", () => {
  it("el2 (the default) turns virtualization on; el1 is plain virt", () => {
    const machineOf = (cmd: string[]): string | undefined => cmd[cmd.indexOf("-M") + 1];
    expect(machineOf(qemuCommand([], 0x4010_0000n, 256))).toBe("virt,virtualization=on");
    expect(machineOf(qemuCommand([], 0x4010_0000n, 256, 1, "el1"))).toBe("virt");
  });
});

describe("runImagesOnQemu", () => {
  it.skipIf(!qemuAvailable())("passes extra arguments before the loaders (here: an unknown option QEMU refuses)", async () => {
    const image = await assemble("brk #0\n", { base: 0x4010_0000n });
    const r = await runImagesOnQemu({ first: image, memoryMiB: 64, machine: "el1", timeoutMs: 10_000, extraArgs: ["-no-such-option"] });
    expect(r.command.indexOf("-no-such-option")).toBeLessThan(r.command.findIndex((a) => a.startsWith("loader,")));
    expect(r.exitedCleanly).toBe(false);
    expect(r.stderr).toMatch(/-no-such-option/);
  });
});
