// `--qemu` with ELF and raw images and with semihosting, against the real qemu-system-aarch64: QEMU
// gets the same bytes at the same addresses (an ELF moved by @IPA included) and the same entry,
// semihosting goes to the same console with the same command line, files from the same root, and
// the semihosting exit code is compared.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { rawBinary } from "../../asm/raw_binary.ts";
import { imageElf } from "../helpers/elf_file.ts";
import { qemuForTests } from "../helpers/qemu_required.ts";
import { CROSS_GCC, crossCompilerAvailable } from "../guests/c/c_guests.ts";
import { nvlabInProcess } from "./in_process.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-qemu-images-"));
const path = (name: string): string => join(dir, name);

/**
 * Semihosting at EL1 (exec) or at L1's EL2: the UART, SYS_WRITE0, SYS_GET_CMDLINE, the first bytes
 * of `in.txt` from the semihosting root, then SYS_EXIT_EXTENDED with code `code`.
 */
const semihostingProgram = (code: number): string => `
        .globl _start
_start: mov     x1, #0x09000000
        mov     w2, #'u'
        strb    w2, [x1]
        mov     w2, #10
        strb    w2, [x1]
        mov     w0, #4
        adr     x1, msg
        hlt     #0xf000
        mov     w0, #0x15
        adr     x1, blk
        adr     x2, buf
        str     x2, [x1]
        mov     x3, #48
        str     x3, [x1, #8]
        hlt     #0xf000
        mov     w0, #4
        adr     x1, buf
        hlt     #0xf000
        mov     w0, #1
        adr     x1, open
        hlt     #0xf000
        cmn     x0, #1
        b.eq    1f
        adr     x1, rd
        str     x0, [x1]
        mov     w0, #6
        hlt     #0xf000
        mov     w0, #4
        adr     x1, text
        hlt     #0xf000
1:      mov     w0, #0x20
        adr     x1, ex
        hlt     #0xf000
        b       .
msg:    .asciz  "semihosting says hi\\n"
name:   .asciz  "in.txt"
        .balign 8
open:   .quad   name, 0, 6
ex:     .quad   0x20026, ${code}
blk:    .quad   0, 0
rd:     .quad   0, text, 15
buf:    .space  64
text:   .space  16
`;

const withQemu = qemuForTests("--qemu with ELF and raw images");

describe.skipIf(!withQemu)("--qemu with ELF and raw images", () => {
  const root = path("root");
  beforeAll(async () => {
    mkdirSync(root);
    writeFileSync(join(root, "in.txt"), "from the root\n");
    writeFileSync(path("sh.S"), semihostingProgram(7));
    writeFileSync(path("sh.elf"), imageElf(await assembleFile(path("sh.S"), { base: 0x4010_0000n })));
    writeFileSync(path("sh_l1.S"), semihostingProgram(9));
  });

  it("exec ELF --semihosting: the same console (UART and semihosting interleaved), command line, root file and exit code", async () => {
    const r = await nvlabInProcess("exec", path("sh.elf"), "--semihosting", "--semihosting-root", root, "--semihosting-cmdline", "a, b", "--qemu", "--json");
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { console: string; qemu: { same: boolean; ended: string; status: number; command: string[] } };
    expect(out.console).toBe(`u\nsemihosting says hi\n${path("sh.elf")} a, bfrom the root\n`);
    expect(out.qemu).toMatchObject({ same: true, ended: "exited", status: 7 });
    // A comma in an argument is written twice in QEMU's option syntax.
    expect(out.qemu.command).toContain(`enable=on,target=native,chardev=con0,arg=${path("sh.elf")},arg=a,, b`);
    expect(r.status).toBe(7);
  });

  it("exec --semihosting without a root: QEMU opens nothing from its own directory either", async () => {
    const r = await nvlabInProcess("exec", path("sh.elf"), "--semihosting", "--qemu");
    expect(r.stdout).toContain(`qemu: same console as qemu-system-aarch64 (${`u\nsemihosting says hi\n${path("sh.elf")}`.length} bytes), exit status 7`);
    expect(r.status).toBe(7);
  });

  it("run --semihosting: served at L1's EL2 on QEMU, at its EL1 on nvlab; the same console and exit code 9", async () => {
    const r = await nvlabInProcess("run", "--l1", path("sh_l1.S"), "--semihosting", "--semihosting-root", root, "--qemu", "--json");
    const out = JSON.parse(r.stdout) as { exit: { code: number; status: number }; console: string; qemu: { same: boolean; status: number } };
    expect(out.console).toBe(`u\nsemihosting says hi\n${path("sh_l1.S")}from the root\n`);
    expect(out.qemu).toMatchObject({ same: true, status: 9 });
    expect(out.exit).toMatchObject({ code: 9, status: 9 });
  });

  it("refuses --semihosting-stdin with --qemu", async () => {
    writeFileSync(path("stdin.txt"), "x");
    const r = await nvlabInProcess("exec", path("sh.elf"), "--semihosting", "--semihosting-stdin", path("stdin.txt"), "--qemu");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^nvlab: --qemu: --semihosting-stdin is not passed to QEMU/);
  });

  it("a raw L1 and an L2 ELF moved by @IPA: QEMU gets the bytes where nvlab put them", async () => {
    const l1 = path("hyp.bin");
    writeFileSync(l1, rawBinary(await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n })).bytes);
    const l2 = path("hello_nested.elf");
    // Linked at the nested IPA 0x40000000, loaded at the canonical 0x48000000.
    writeFileSync(l2, imageElf(await assembleFile("guests/l2/hello.S", { base: 0x4000_0000n })));
    const r = await nvlabInProcess("run", "--l1", l1, "--l2", `${l2}@0x48000000`, "--qemu", "--json");
    const out = JSON.parse(r.stdout) as { console: string; qemu: { same: boolean; command: string[] } };
    expect(out.console).toMatch(/^hello from L2\n/m);
    expect(out.qemu.same).toBe(true);
    expect(out.qemu.command.join(" ")).toMatch(/loader,file=\S+,addr=0x48000000,force-raw=on/);
    expect(r.status).toBe(0);
  });

  describe.skipIf(!crossCompilerAvailable())("a gcc-linked ELF (-Ttext, no linker script)", () => {
    it("exec --qemu: the ELF headers GNU ld maps 64 KiB below the code stay out of QEMU's device tree", async () => {
      const elf = path("gcc_sh.elf");
      const c = spawnSync(CROSS_GCC, ["-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-Ttext=0x40100000", path("sh.S"), "-o", elf], { encoding: "utf8" });
      expect(c.stderr).toBe("");
      const r = await nvlabInProcess("exec", elf, "--semihosting", "--qemu", "--json");
      const out = JSON.parse(r.stdout) as { console: string; qemu: { same: boolean; status: number; command: string[] } };
      expect(out.qemu).toMatchObject({ same: true, status: 7 });
      // The code's segment starts at 0x400f0000 (headers, then zeros): QEMU loads it from the code on.
      expect(out.qemu.command.join(" ")).toMatch(/loader,file=\S+,addr=0x40100000,force-raw=on/);
    });
  });

  const picolibc = "/usr/lib/picolibc/aarch64-linux-gnu/picolibc.specs";
  describe.skipIf(!crossCompilerAvailable() || !existsSync(picolibc))("a picolibc program (its .data loaded at a p_paddr other than its p_vaddr)", () => {
    it("exec --semihosting --qemu: the same console and exit code; crt0 copies .data from where both loaders put it", async () => {
      const c = path("p.c");
      writeFileSync(c, '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nstatic char greeting[] = "hello picolibc";\n' +
        'int main(void) { puts(greeting); char *p = malloc(32); strcpy(p, "heap ok"); puts(p); return 3; }\n');
      const elf = path("p.elf");
      const r = spawnSync(CROSS_GCC, [
        "--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost", "-O2", "-mgeneral-regs-only", "-no-pie", "-static",
        "-Wl,--defsym=__flash=0x40100000", "-Wl,--defsym=__flash_size=0x100000", "-Wl,--defsym=__ram=0x40200000", "-Wl,--defsym=__ram_size=0x200000",
        c, "-o", elf,
      ], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const out = await nvlabInProcess("exec", elf, "--semihosting", "--qemu", "--json");
      const j = JSON.parse(out.stdout) as { console: string; stop: { kind: string }; qemu: { same: boolean; status: number } };
      expect(j.console).toBe("hello picolibc\nheap ok\n");
      expect(j.stop.kind).toBe("semihosting-exit");
      expect(j.qemu).toMatchObject({ same: true, status: 3 });
    });
  });
});
