// `npm run build:guests` (make -C guests/c): without make, or without the cross compiler, it stops
// with a message naming what to install instead of failing on a compiler command.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../qemu/pairs.ts";
import { C_GUESTS_DIR } from "./c_guests.ts";

const script = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["build:guests"]!;
const makeAvailable = spawnSync("make", ["--version"]).status === 0;

describe("npm run build:guests", () => {
  it("runs make -C guests/c", () => {
    expect(script).toMatch(/make -C guests\/c$/);
  });

  it("without make on PATH: names the packages to install", () => {
    const r = spawnSync("/bin/sh", ["-c", script], { cwd: REPO_ROOT, encoding: "utf8", env: { PATH: "/nonexistent" } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("npm run build:guests: make not found (Debian: apt-get install make gcc-aarch64-linux-gnu)\n");
  });

  it.skipIf(!makeAvailable)("without the cross compiler: make stops at once with what to install", () => {
    const r = spawnSync("make", ["-C", C_GUESTS_DIR, "CROSS=nosuch-"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\*\*\* nosuch-gcc not found: the C guests need a cross compiler \(Debian: apt-get install gcc-aarch64-linux-gnu make; for TOOLCHAIN=clang also clang lld\), or CROSS=PREFIX for another toolchain\.\s+Stop\./);
    expect(r.stdout).not.toContain("nosuch-gcc -O2");
  });

  it("a toolchain other than gcc or clang is refused by name", () => {
    const r = spawnSync("make", ["-C", C_GUESTS_DIR, "TOOLCHAIN=icc"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TOOLCHAIN=icc: use gcc or clang\.\s+Stop\./);
  });
});
