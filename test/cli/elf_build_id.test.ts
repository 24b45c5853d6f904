// gcc's default build-id note, linked without a script: GNU ld puts it (with the ELF headers) in a
// PT_LOAD of its own at 0x400000, far below the code. nvlab run names the cause and the fix, and
// the same program linked with -Wl,--build-id=none runs. Also: an entry point outside the code.

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_ID_HINT } from "../../asm/image.ts";
import { CROSS_GCC, cGuestsBuildable } from "../guests/c/c_guests.ts";
import { nvlabInProcess } from "./in_process.ts";

const canBuild = cGuestsBuildable();
const dir = mkdtempSync(join(tmpdir(), "nvlab-build-id-"));
// An L1 that powers off with code 5 (PSCI SYSTEM_OFF, code in x1).
const L1 = ".globl _start\n_start:\n  movz x0, #0x0008\n  movk x0, #0x8400, lsl #16\n  mov x1, #5\n  smc #0\n  b .\n";

function link(name: string, ...flags: string[]): string {
  const out = join(dir, name);
  const r = spawnSync(CROSS_GCC, ["-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x40100000", ...flags, join(dir, "l1.S"), "-o", out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${CROSS_GCC} failed: ${r.stderr}`);
  return out;
}

describe.skipIf(!canBuild)("an ELF with gcc's default build-id segment", () => {
  let withNote = "";
  let without = "";
  beforeAll(() => {
    writeFileSync(join(dir, "l1.S"), L1);
    withNote = link("note.elf");
    without = link("plain.elf", "-Wl,--build-id=none");
  });

  it("as L1 at its own addresses: refused as outside L1 RAM, with the cause and the fix", async () => {
    const r = await nvlabInProcess("run", "--l1", withNote);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`nvlab: image ${withNote}: section PT_LOAD[0] at 0x400000..0x40010c lies outside L1 RAM (0x40000000..0x50000000); ${BUILD_ID_HINT}\n`);
    expect(r.stderr).toContain("-Wl,--build-id=none");
  });

  it("moved with @IPA: refused before the note could decide where the code goes", async () => {
    const r = await nvlabInProcess("run", "--l1", "guests/l1/hyp.S", "--l2", `${withNote}@0x48000000`);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`nvlab: ${withNote}: cannot be moved to 0x48000000 as a whole: its segment PT_LOAD[0] at 0x400000 would lead the move; ${BUILD_ID_HINT}\n`);
  });

  it("linked with -Wl,--build-id=none: runs", async () => {
    const r = await nvlabInProcess("run", "--l1", without);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(5);
  });

  it("an entry point outside the code (-e at a data symbol) is refused for an L1 and for exec", async () => {
    writeFileSync(join(dir, "data.S"), L1 + ".data\n.globl value\nvalue: .quad 1\n");
    const out = join(dir, "entry.elf");
    const r = spawnSync(CROSS_GCC, ["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-Ttext=0x40100000", "-Wl,-e,value", join(dir, "data.S"), "-o", out], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const argv of [["run", "--l1", out], ["exec", out]]) {
      const c = await nvlabInProcess(...argv);
      expect(c.status).toBe(1);
      expect(c.stderr).toMatch(/^nvlab: \S+entry\.elf: its entry point e_entry 0x[0-9a-f]+ lies in no executable PT_LOAD segment \(PF_X, .*\); check ENTRY\(\) or -e in the link\n$/);
    }
  });
});
