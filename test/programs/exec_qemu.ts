// `nvlab exec FILE --qemu` on a compiled program's ELF and raw image: both must end at PASS with
// status 0, QEMU printing the same console.

import { expect } from "vitest";
import type { ProgramFiles } from "../../bench/cpu_programs.ts";
import { nvlab } from "../helpers/bin.ts";

export async function expectSameAsQemu(files: ProgramFiles, pass: RegExp, maxSteps: number, ...more: string[]): Promise<void> {
  for (const args of [[files.elf], [files.bin, "--base", "0x40100000"]]) {
    const r = await nvlab("exec", ...args, "--qemu", "--json", "--max-steps", String(maxSteps), ...more);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { console: string; qemu: unknown };
    expect(j.console).toMatch(pass);
    expect(j.qemu).toMatchObject({ same: true, console: j.console });
  }
}
