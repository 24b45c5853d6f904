// The C guests built with clang and lld instead of gcc (`make -C guests/c TOOLCHAIN=clang`, into
// build-clang/): another compiler's code and layout, the same guest behaviour on nvlab and QEMU.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { nvlabInProcess } from "../../cli/in_process.ts";
import { qemuForTests } from "../../helpers/qemu_required.ts";
import { clangForTests } from "../../programs/programs_required.ts";
import { C_GUESTS_DIR, C_L1S, FORMATS } from "./c_guests.ts";

const haveClang = clangForTests("the clang-built C guests");
const haveQemu = haveClang && qemuForTests("the clang-built C guests on QEMU");
const build = (name: string): string => join(C_GUESTS_DIR, "build-clang", name);

describe.runIf(haveClang)("C guests built with clang", () => {
  beforeAll(() => {
    const r = spawnSync("make", ["-C", C_GUESTS_DIR, "TOOLCHAIN=clang"], { encoding: "utf8", timeout: 180_000 });
    if (r.status !== 0) throw new Error(`make -C guests/c TOOLCHAIN=clang failed:\n${r.stdout}${r.stderr}`);
  }, 180_000);

  it("the images are clang's (their debug information names the producer)", () => {
    const r = spawnSync("aarch64-linux-gnu-readelf", ["--debug-dump=info", build("hyp_c.elf")], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(r.stdout).toMatch(/DW_AT_producer.*clang version/);
  });

  for (const l1 of C_L1S) {
    it(`${l1} with the clang hello_c and hello.S: both L2s pass, SYSTEM_OFF 0${haveQemu ? ", same console as QEMU" : ""}`, async () => {
      const args = ["run", "--l1", build(`${l1}.elf`), "--l2", `${build("hello_c.elf")}@0x48000000`, "--l2", "guests/l2/hello.S@0x49000000", "--check", "--json"];
      const r = await nvlabInProcess(...args, ...(haveQemu ? ["--qemu"] : []));
      expect(r.stderr).toBe("");
      const json = JSON.parse(r.stdout) as { exit: { kind: string; code: number }; console: string; qemu?: { same: boolean; diff?: string } };
      expect(json.exit).toMatchObject({ kind: "system-off", code: 0 });
      expect(json.console).toContain(`L1: hyp_c: ${FORMATS[l1].name}, 2 L2s\n`);
      expect(json.console).toContain("C L2: remap: after  0xfedcba9876543210\nC L2: PASS\n");
      expect(json.console).toContain("hello from L2\nL1: L2 #1 exited with code 0, stage-2 faults: 1\nL1: system off, exit code 0\n");
      if (haveQemu) expect(json.qemu?.diff ?? "").toBe("");
      expect(r.status).toBe(0);
    }, 60_000);
  }
});
