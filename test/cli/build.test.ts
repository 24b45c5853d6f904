// `nvlab build` and `nvlab asm` through the real bin: an ELF read back field by field and booted on
// QEMU, a raw binary equal to the image, the loader arguments printed, default output names, the
// format from -o's extension or --format, and errors naming the input.

import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { nvlab } from "../helpers/bin.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { readElf } from "../debug/elf_reader.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";

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

describe("nvlab build", () => {
  it("writes an ELF64 AArch64 executable: a PT_LOAD per section at its load address, e_entry, the labels in .symtab", async () => {
    const out = join(dir, "hyp.elf");
    const r = await nvlab("build", "guests/l1/hyp.S", "-o", out);
    expect(r.code).toBe(0);
    const image = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
    const bytes = new Uint8Array(readFileSync(out));
    const elf = readElf(bytes);
    expect(elf.header.ident.slice(0, 7)).toEqual([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    expect(elf.header.type).toBe(2); // ET_EXEC
    expect(elf.header.machine).toBe(183); // EM_AARCH64
    expect(elf.header.entry).toBe(image.entry);
    expect(elf.segments).toHaveLength(image.sections.length);
    for (const [i, s] of image.sections.entries()) {
      const seg = elf.segments[i]!;
      expect(seg.type).toBe(1); // PT_LOAD
      expect([seg.vaddr, seg.paddr, seg.filesz, seg.memsz]).toEqual([s.base, s.base, s.bytes.length, s.bytes.length]);
      expect(bytes.slice(seg.offset, seg.offset + seg.filesz)).toEqual(s.bytes);
    }
    const named = new Map(elf.symbols.filter((y) => y.name !== "").map((y) => [y.name, y.value]));
    for (const [name, value] of image.symbols) {
      if (image.sections.some((s) => value >= s.base && value < s.base + BigInt(s.bytes.length))) expect(named.get(name)).toBe(value);
    }
    expect(named.get("hvc_extra") ?? named.get("vectors")).toBeDefined();
    expect(r.stdout).toBe(
      `${out}: ELF64 AArch64 executable, ${bytes.length} bytes, segments 0x40100000..0x${(0x4010_0000 + image.sections[0]!.bytes.length).toString(16)}, entry 0x40100000, ${image.symbols.size} symbols\n` +
        `QEMU loads it with: -device loader,file=${out}\n` +
        `and, for the image the CPU starts in (L1), with its entry: -device loader,file=${out},cpu-num=0\n`,
    );
  });

  it("an image with several sections gives one segment each, and readelf agrees where it is installed", async () => {
    const src = join(dir, "two.S");
    writeFileSync(src, "_start: adr x0, msg\n  brk #0\n.data\nmsg: .asciz \"hi\"\n");
    const out = join(dir, "two.elf");
    expect((await nvlab("build", src, "--base", "0x40200000", "-o", out)).code).toBe(0);
    const image = await assembleFile(src, { base: 0x4020_0000n });
    const elf = readElf(new Uint8Array(readFileSync(out)));
    expect(elf.segments.map((s) => s.vaddr)).toEqual(image.sections.map((s) => s.base));
    expect(image.sections.length).toBe(2);
    const readelf = spawnSync("readelf", ["-lsW", out], { encoding: "utf8" });
    if (readelf.error) return;
    expect(readelf.stdout).toMatch(/Entry point 0x40200000/);
    expect(readelf.stdout).toMatch(/LOAD\s+0x[0-9a-f]+ 0x0*40200000 0x0*40200000/);
    expect(readelf.stdout).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+\d+ msg/);
  });

  it("chooses the format by -o's extension or --format, and defaults to NAME.elf", async () => {
    const raw = join(dir, "hello.img");
    expect((await nvlab("build", "guests/l2/hello.S", "-o", raw)).stdout).toMatch(/ bytes for 0x40100000/);
    const image = await assembleFile("guests/l2/hello.S", { base: 0x4010_0000n });
    expect(new Uint8Array(readFileSync(raw))).toEqual(image.sections[0]!.bytes);
    const forced = join(dir, "hello.elf");
    await nvlab("build", "guests/l2/hello.S", "--format", "raw", "-o", forced);
    expect(new Uint8Array(readFileSync(forced))).toEqual(image.sections[0]!.bytes);
    const odd = await nvlab("build", "guests/l2/hello.S", "-o", join(dir, "hello.out"));
    expect(odd.code).toBe(1);
    expect(odd.stderr).toBe(`nvlab: cannot tell the output format from ${join(dir, "hello.out")}: name it .elf or .bin, or give --format elf|raw\n`);
    const withOut = await nvlab("build", "guests/l2/hello.S", "--format", "elf", "-o", join(dir, "hello.out"));
    expect(readElf(new Uint8Array(readFileSync(join(dir, "hello.out")))).header.machine).toBe(183);
    expect(withOut.code).toBe(0);
    const cwd = mkdtempSync(join(tmpdir(), "nvlab-build-cwd-"));
    await promisify(execFile)("node", [resolve("cli/nvlab.js"), "build", resolve("guests/l1/hyp.S")], { cwd });
    expect(readElf(new Uint8Array(readFileSync(join(cwd, "hyp.elf")))).header.entry).toBe(0x4010_0000n);
    const asElf = await nvlab("asm", "guests/l2/hello.S", "-o", join(dir, "asm.elf"));
    expect(asElf.stdout).toMatch(/ELF64 AArch64 executable/);
    const badFormat = await nvlab("build", "guests/l2/hello.S", "--format", "hex");
    expect(badFormat.code).toBe(1);
    expect(badFormat.stderr).toMatch(/Allowed choices are elf, raw/);
  });

  it.skipIf(!qemuForTests("booting nvlab build's ELF files on QEMU"))("QEMU boots the ELF files: -device loader for L2, -kernel and loader,cpu-num=0 for L1", async () => {
    const l1 = join(dir, "q-hyp.elf");
    const l2 = join(dir, "q-hello.elf");
    await nvlab("build", "guests/l1/hyp.S", "-o", l1);
    await nvlab("build", "guests/l2/hello.S", "--base", "0x48000000", "-o", l2);
    const expected = GUEST_PAIRS.find((p) => p.name === "hyp+hello")!.expected;
    const machine = ["-M", "virt,virtualization=on", "-cpu", "max", "-m", "256M", "-nographic", "-monitor", "none", "-serial", "stdio", "-nodefaults"];
    for (const start of [["-device", `loader,file=${l1},cpu-num=0`], ["-kernel", l1]]) {
      const r = spawnSync("qemu-system-aarch64", [...machine, "-device", `loader,file=${l2}`, ...start], { encoding: "latin1", timeout: 10_000 });
      expect(r.stdout).toBe(expected);
      expect(r.status).toBe(0);
    }
  });
});
