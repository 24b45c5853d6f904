// `nvlab run --qemu` and `nvlab exec --qemu` through the real bin: the same console on a shipped
// pair, a unified diff and the documented status where QEMU's CPU answers an ID register
// differently, and a clear message without QEMU.

import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { QEMU_DIFFERS_STATUS } from "../../cli/qemu_compare.ts";
import { nvlab } from "../helpers/bin.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-qemu-compare-"));

/** Prints MIDR_EL1 in hex on the UART: nvlab's CPU model and QEMU's -cpu max name different parts. */
const PRINT_MIDR =
  "        mrs x2, midr_el1\n        mov x1, #0x09000000\n        mov x3, #60\n" +
  "1:      lsr x4, x2, x3\n        and x4, x4, #0xf\n        cmp x4, #10\n        b.lt 2f\n        add x4, x4, #39\n" +
  "2:      add x4, x4, #48\n        strb w4, [x1]\n        subs x3, x3, #4\n        b.ge 1b\n        mov w4, #10\n        strb w4, [x1]\n";

function source(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const hello = source("hello.S", '        mov x1, #0x09000000\n        adr x2, msg\n1:      ldrb w3, [x2], #1\n        cbz w3, 2f\n        strb w3, [x1]\n        b 1b\n2:      brk #0\nmsg:    .asciz "hello from exec\\n"\n');
const midrExec = source("midr.S", PRINT_MIDR + "        brk #0\n");
// At EL2: print MIDR_EL1 (the real one: VPIDR_EL2 is what EL1 would read), then PSCI SYSTEM_OFF.
const midrL1 = source("midr_l1.S", PRINT_MIDR + "        movz x0, #0x0008\n        movk x0, #0x8400, lsl #16\n        mov x1, #0\n        smc #0\n");

const diffStatus = `exit status ${QEMU_DIFFERS_STATUS.run}`;

describe.skipIf(!qemuForTests("nvlab run/exec --qemu"))("--qemu with QEMU installed", () => {
  it("run: a shipped pair prints the same console on both, status 0", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "hyp+hello")!;
    const r = await nvlab("run", "--l1", pair.l1, "--l2", `${pair.l2[0]!.path}@0x48000000`, "--qemu");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(pair.expected)).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`\\nqemu: same console as qemu-system-aarch64 \\(${pair.expected.length} bytes\\)\\n$`));
  });

  it(`run: a console that differs gives a unified diff and ${diffStatus}, also in --json`, async () => {
    const r = await nvlab("run", "--l1", midrL1, "--qemu");
    expect(r.code).toBe(QEMU_DIFFERS_STATUS.run);
    const ours = r.stdout.split("\n")[0]!;
    expect(ours).toMatch(/^[0-9a-f]{16}$/);
    expect(r.stdout).toMatch(
      new RegExp(`\\nqemu: the console differs from qemu-system-aarch64's:\\n--- nvlab\\n\\+\\+\\+ qemu-system-aarch64\\n@@ -1 \\+1 @@\\n-${ours}\\n\\+[0-9a-f]{16}\\n$`),
    );
    const j = await nvlab("run", "--l1", midrL1, "--qemu", "--json");
    expect(j.code).toBe(QEMU_DIFFERS_STATUS.run);
    const out = JSON.parse(j.stdout) as { exit: { status: number; code: number }; qemu: { same: boolean; ended: string; diff: string; console: string } };
    expect(out.exit).toMatchObject({ status: QEMU_DIFFERS_STATUS.run, code: 0 });
    expect(out.qemu).toMatchObject({ same: false, ended: "system-off" });
    expect(out.qemu.diff).toContain(`-${ours}\n`);
    expect(out.qemu.console).not.toBe(ours + "\n");
  });

  it(`exec: the same console gives status 0; a different one a diff and status ${QEMU_DIFFERS_STATUS.exec}`, async () => {
    const same = await nvlab("exec", hello, "--qemu");
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^hello from exec\n[\s\S]*\nqemu: same console as qemu-system-aarch64 \(16 bytes\)\n$/);
    const differs = await nvlab("exec", midrExec, "--qemu", "--json");
    expect(differs.code).toBe(QEMU_DIFFERS_STATUS.exec);
    const out = JSON.parse(differs.stdout) as { stop: { kind: string }; qemu: { same: boolean; ended: string; diff: string } };
    expect(out.stop.kind).toBe("brk");
    // brk #0 at EL1 with no vectors never powers QEMU off: it is stopped once its console settles.
    expect(out.qemu).toMatchObject({ same: false, ended: "settled" });
    expect(out.qemu.diff).toMatch(/^--- nvlab\n\+\+\+ qemu-system-aarch64\n@@ -1 \+1 @@\n-[0-9a-f]{16}\n\+[0-9a-f]{16}\n$/);
  });

  it("refuses a scenario file and a bad --qemu-timeout", async () => {
    const s = await nvlab("run", "scenarios/revmap_polluted.yaml", "--qemu");
    expect(s.code).toBe(1);
    expect(s.stderr).toBe("nvlab: run: --qemu takes --l1/--l2 images, not a scenario file (a scenario's injections have no QEMU counterpart)\n");
    const v = await nvlab("run", "--l1", "guests/l1/hyp.S", "--vcpus", "9", "--qemu");
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^nvlab: --qemu: at most 8 vCPUs/);
    const t = await nvlab("exec", hello, "--qemu", "--qemu-timeout", "0");
    expect(t.code).toBe(1);
    expect(t.stderr).toBe("nvlab: --qemu-timeout: 0 is not a number of seconds from 0 to 3600\n");
  });
});

describe("--qemu without QEMU", () => {
  it("says QEMU is not installed, with status 1, before running anything", async () => {
    const empty = mkdtempSync(join(tmpdir(), "nvlab-no-qemu-"));
    for (const args of [["exec", hello, "--qemu"], ["run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000", "--qemu"]]) {
      const r = await promisify(execFile)(process.execPath, [resolve("cli/nvlab.js"), ...args], { env: { ...process.env, PATH: empty } }).catch(
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect("code" in r ? r.code : 0).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe("nvlab: qemu-system-aarch64 is not installed (or not on PATH): --qemu needs it (Debian: apt-get install qemu-system-arm)\n");
    }
  });
});
