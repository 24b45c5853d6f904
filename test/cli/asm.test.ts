// `nvlab asm` through the real bin: a raw binary equal to the image, the loader arguments it
// prints, the default output name, and errors naming the input.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-asm-"));

describe("nvlab asm", () => {
  it("writes the image's bytes and prints the QEMU loader arguments", async () => {
    const out = join(dir, "hello.bin");
    const r = await nvlab("asm", "guests/l2/hello.S", "--base", "0x48000000", "-o", out);
    expect(r.code).toBe(0);
    const image = await assembleFile("guests/l2/hello.S", { base: 0x4800_0000n });
    const bytes = image.sections[0]!.bytes;
    expect(new Uint8Array(readFileSync(out))).toEqual(bytes);
    expect(r.stdout).toBe(
      `${out}: ${bytes.length} bytes for 0x48000000..0x${(0x4800_0000 + bytes.length).toString(16)}, entry 0x48000000\n` +
        `QEMU loads it with: -device loader,file=${out},addr=0x48000000,force-raw=on\n` +
        "and, for the image the CPU starts in (L1): -device loader,addr=0x48000000,cpu-num=0\n",
    );
  });

  it("defaults to L1's load address and to NAME.bin in the current directory", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "nvlab-asm-cwd-"));
    const r = await promisify(execFile)("node", [resolve("cli/nvlab.js"), "asm", resolve("guests/l1/hyp.S")], { cwd });
    expect(r.stdout).toMatch(/^hyp\.bin: \d+ bytes for 0x40100000\.\.0x[0-9a-f]+, entry 0x40100000\n/);
    const image = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
    expect(new Uint8Array(readFileSync(join(cwd, "hyp.bin")))).toEqual(image.sections[0]!.bytes);
  });

  it("errors name the input: assembly error with file:line:col, bad base, unwritable output", async () => {
    const bad = join(dir, "bad.S");
    writeFileSync(bad, "        mov x0, #1\n        add x0, x0, #5000\n");
    const asm = await nvlab("asm", bad, "-o", join(dir, "bad.bin"));
    expect(asm.code).toBe(1);
    expect(asm.stderr).toMatch(/bad\.S:2:\d+: error: /);
    const base = await nvlab("asm", "guests/l2/hello.S", "--base", "0x48000002");
    expect(base.code).toBe(1);
    expect(base.stderr).toBe("nvlab: --base: 0x48000002 is not a multiple of 0x4 (an image starts with an instruction, and instructions are 4-byte aligned)\n");
    const wide = await nvlab("asm", "guests/l2/hello.S", "--base", "0x10000000000000000");
    expect(wide.stderr).toMatch(/does not fit in 64 bits/);
    const toDir = await nvlab("asm", "guests/l2/hello.S", "-o", dir);
    expect(toDir.code).toBe(1);
    expect(toDir.stderr).toBe(`nvlab: cannot write ${dir}: is a directory\n`);
    const empty = join(dir, "empty.S");
    writeFileSync(empty, "// nothing here\n");
    const none = await nvlab("asm", empty, "-o", join(dir, "empty.bin"));
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`nvlab: ${empty}: the image is empty (no section has any bytes)\n`);
    const missing = await nvlab("asm", join(dir, "nope.S"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot open .*nope\.S/);
  });
});
