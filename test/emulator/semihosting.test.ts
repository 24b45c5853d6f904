import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ExecSemihosting, execExitCode, execProgram, semihostingExitStatus } from "../../cli/exec.ts";
import { ADP_STOPPED_APPLICATION_EXIT, SEMIHOSTING_TICK_HZ, SYS } from "../../emulator/semihosting.ts";
import { ERRNO } from "../../emulator/semihosting_files.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-semihosting-"));
let n = 0;

/** A program: `body`, then `brk #0`; `data` after it. Calls use `call OP` (x1 already set). */
function program(body: string, data = ""): string {
  const p = join(dir, `p${n++}.S`);
  const text = body.replace(/call (\w+)/g, (_m, op: string) => `mov w0, #${SYS[op as keyof typeof SYS]}\nhlt #0xf000`);
  writeFileSync(p, `${text}\nbrk #0\n.balign 8\n${data}\n`);
  return p;
}

/** Run with semihosting on (no root unless given); null: off. */
async function exec(file: string, semihosting: ExecSemihosting | null = { root: null }) {
  return execProgram({ file, maxSteps: 100_000, ...(semihosting === null ? {} : { semihosting }) });
}

function x(r: { regs: Record<string, string> }, reg: string): bigint {
  return BigInt(r.regs[reg]!);
}

describe("semihosting (hlt #0xf000)", () => {
  it("is off by default: HLT is UNDEFINED, as without QEMU's -semihosting", async () => {
    const r = await exec(program("adr x1, s\ncall WRITE0", 's: .asciz "no"'), null);
    expect(r.stop.kind).toBe("el1-exception");
    expect(r.stop.ecName).toBe("UNKNOWN");
    expect(r.console).toBe("");
  });

  it("is not served at EL0 (QEMU's default): HLT is UNDEFINED there", async () => {
    const r = await exec(program(`
      adr x0, el0
      msr elr_el1, x0
      msr spsr_el1, xzr
      eret
    el0:
      adr x1, s
      call WRITE0
    `, 's: .asciz "no"'));
    expect(r.stop.kind).toBe("el1-exception");
    expect(r.stop.ecName).toBe("UNKNOWN");
    expect(r.console).toBe("");
  });

  it("leaves other HLT immediates UNDEFINED when on", async () => {
    const r = await exec(program("hlt #0x1"));
    expect(r.stop.kind).toBe("el1-exception");
  });

  it("WRITEC, WRITE0 and WRITE to :tt share the UART's console", async () => {
    const r = await exec(program(`
      adr x1, c
      call WRITEC
      movz x2, #0x0900, lsl #16
      mov w3, #'u'
      strb w3, [x2]
      adr x1, s
      call WRITE0
      adr x1, open
      call OPEN
      mov x19, x0
      adr x1, wr
      str x19, [x1]
      call WRITE
      mov x20, x0
    `, `c: .byte 'c'
s: .asciz "zero\\n"
tt: .asciz ":tt"
.balign 8
open: .quad tt, 4, 3
wr: .quad 0, msg, 6
msg: .ascii "write\\n"`));
    expect(r.console).toBe("cuzero\nwrite\n");
    expect(x(r, "x19")).toBeGreaterThan(0n);
    expect(x(r, "x20")).toBe(0n); // bytes not written
  });

  it("ISTTY, ISERROR, bad handles and ERRNO", async () => {
    const r = await exec(program(`
      adr x1, open
      call OPEN
      adr x1, h
      str x0, [x1]
      call ISTTY
      mov x19, x0
      adr x1, bad
      call ISTTY
      mov x20, x0
      call ERRNO
      mov x21, x0
      adr x1, neg
      call ISERROR
      mov x22, x0
      adr x1, h
      call ISERROR
      mov x23, x0
      adr x1, h
      call CLOSE
      mov x24, x0
      adr x1, h
      call CLOSE
      mov x25, x0
    `, `tt: .asciz ":tt"
.balign 8
open: .quad tt, 0, 3
h: .quad 0
bad: .quad 77
neg: .quad -1`));
    expect(x(r, "x19")).toBe(1n);
    expect(x(r, "x20")).toBe(2n ** 64n - 1n);
    expect(x(r, "x21")).toBe(BigInt(ERRNO.EBADF));
    expect([x(r, "x22"), x(r, "x23")]).toEqual([1n, 0n]);
    expect([x(r, "x24"), x(r, "x25")]).toEqual([0n, 2n ** 64n - 1n]);
  });

  it("READ and READC from :tt return the given input, then end of file", async () => {
    const eof = await exec(program(`adr x1, open
      call OPEN
      adr x1, rd
      str x0, [x1]
      call READ`, `tt: .asciz ":tt"
.balign 8
open: .quad tt, 0, 3
rd: .quad 0, buf, 8
buf: .quad 0`), { root: null, input: new Uint8Array([1, 2, 3]) });
    expect(x(eof, "x0")).toBe(5n); // 8 asked, 3 read
    const r = await exec(program(`
      adr x1, open
      call OPEN
      adr x1, rd
      str x0, [x1]
      call READ
      mov x19, x0
      adr x2, buf
      ldr w20, [x2]
      call READC
      mov x21, x0
      call READC
      mov x22, x0
    `, `tt: .asciz ":tt"
.balign 8
open: .quad tt, 0, 3
rd: .quad 0, buf, 4
buf: .quad 0`), { root: null, input: new TextEncoder().encode("abcdX") });
    expect(x(r, "x19")).toBe(0n); // nothing left unread
    expect(x(r, "x20")).toBe(0x64636261n);
    expect(x(r, "x21")).toBe(BigInt("X".charCodeAt(0)));
    expect(x(r, "x22")).toBe(2n ** 64n - 1n);
  });

  it("host files under --semihosting-root: write, FLEN, SEEK, read back", async () => {
    const root = mkdtempSync(join(dir, "root-"));
    const r = await exec(program(`
      adr x1, openw
      call OPEN
      adr x1, wr
      str x0, [x1]
      mov x19, x0
      call WRITE
      adr x1, wr
      call CLOSE
      adr x1, openr
      call OPEN
      adr x1, h
      str x0, [x1]
      str x0, [x1, #16]
      str x0, [x1, #32]
      call FLEN
      mov x20, x0
      adr x1, sk
      call SEEK
      adr x1, rd
      call READ
      mov x21, x0
      adr x2, buf
      ldr w22, [x2]
    `, `name: .asciz "out.txt"
.balign 8
openw: .quad name, 4, 7
openr: .quad name, 0, 7
wr: .quad 0, msg, 5
msg: .ascii "hello"
.balign 8
h: .quad 0, 0
sk: .quad 0, 1
rd: .quad 0, buf, 8
buf: .quad 0`), { root });
    expect(readFileSync(join(root, "out.txt"), "latin1")).toBe("hello");
    expect(x(r, "x20")).toBe(5n);
    expect(x(r, "x21")).toBe(4n); // 8 asked, 4 left after seeking to 1
    expect(x(r, "x22")).toBe(0x6f6c6c65n); // "ello"
  });

  it("RENAME and REMOVE inside the root; a new name outside it is refused", async () => {
    const root = mkdtempSync(join(dir, "ren-"));
    writeFileSync(join(root, "a"), "A");
    writeFileSync(join(root, "gone"), "G");
    const r = await exec(program(`
      adr x1, ren
      call RENAME
      mov x19, x0
      adr x1, rm
      call REMOVE
      mov x20, x0
      adr x1, out
      call RENAME
      mov x21, x0
      call ERRNO
      mov x22, x0
    `, `a: .ascii "a"
b: .ascii "b"
gone: .ascii "gone"
up: .ascii "../b"
.balign 8
ren: .quad a, 1, b, 1
rm: .quad gone, 4
out: .quad b, 1, up, 4`), { root });
    expect([x(r, "x19"), x(r, "x20"), x(r, "x21"), x(r, "x22")]).toEqual([0n, 0n, 2n ** 64n - 1n, BigInt(ERRNO.EACCES)]);
    expect(readFileSync(join(root, "b"), "latin1")).toBe("A");
    expect(existsSync(join(root, "a")) || existsSync(join(root, "gone"))).toBe(false);
  });

  const openFails = (name: string) => program(`
      adr x1, open
      call OPEN
      mov x19, x0
      call ERRNO
      mov x20, x0
    `, `name: .asciz "${name}"
.balign 8
open: .quad name, 0, ${name.length}`);

  it("refuses host files without a root, and names that leave the root", async () => {
    const root = mkdtempSync(join(dir, "jail-"));
    const outside = mkdtempSync(join(dir, "outside-"));
    writeFileSync(join(outside, "secret"), "s");
    writeFileSync(join(root, "ok"), "ok");
    symlinkSync(join(outside, "secret"), join(root, "link"));
    mkdirSync(join(root, "sub"));
    writeFileSync(join(root, "sub", "f"), "f");
    const minus1 = 2n ** 64n - 1n;
    const none = await exec(openFails("ok"));
    expect([x(none, "x19"), x(none, "x20")]).toEqual([minus1, BigInt(ERRNO.EACCES)]);
    for (const name of ["../outside/secret", `${outside}/secret`, "link", "sub/../../x"]) {
      const r = await exec(openFails(name), { root });
      expect([name, x(r, "x19"), x(r, "x20")]).toEqual([name, minus1, BigInt(ERRNO.EACCES)]);
    }
    const missing = await exec(openFails("nothere"), { root });
    expect(x(missing, "x20")).toBe(BigInt(ERRNO.ENOENT));
    for (const name of ["ok", "sub/f"]) {
      const r = await exec(openFails(name), { root });
      expect(x(r, "x19")).toBeGreaterThan(0n);
    }
  });

  it("clocks count instructions: CLOCK, TIME, ELAPSED and TICKFREQ", async () => {
    const r = await exec(program(`
      call TICKFREQ
      mov x19, x0
      adr x1, el
      call ELAPSED
      ldr x20, [x1]
      call CLOCK
      mov x21, x0
      call TIME
      mov x22, x0
    `, "el: .quad 0"));
    expect(x(r, "x19")).toBe(BigInt(SEMIHOSTING_TICK_HZ));
    expect(x(r, "x20")).toBe(6n); // the ELAPSED call is the sixth instruction
    expect([x(r, "x21"), x(r, "x22")]).toEqual([0n, 0n]);
  });

  it("GET_CMDLINE: program name and --semihosting-cmdline; too small a buffer fails", async () => {
    const p = program(`
      adr x1, blk
      call GET_CMDLINE
      mov x19, x0
      ldr x20, [x1, #8]
      adr x1, small
      call GET_CMDLINE
      mov x21, x0
      call ERRNO
      mov x22, x0
      adr x1, buf
      call WRITE0
    `, `blk: .quad buf, 64
small: .quad buf, 4
buf: .space 64`);
    const r = await exec(p, { root: null, args: "a b" });
    expect(x(r, "x19")).toBe(0n);
    expect(x(r, "x20")).toBe(BigInt(`${p} a b`.length));
    expect(x(r, "x21")).toBe(2n ** 64n - 1n);
    expect(x(r, "x22")).toBe(BigInt(ERRNO.E2BIG));
    expect(r.console).toBe(`${p} a b`);
  });

  it("HEAPINFO fills the block x1 points to with a heap above the image", async () => {
    const r = await exec(program(`
      adr x1, ptr
      call HEAPINFO
      adr x2, info
      ldp x19, x20, [x2]
      ldp x21, x22, [x2, #16]
    `, `ptr: .quad info
info: .quad 0, 0, 0, 0`));
    expect(x(r, "x19")).toBe(0x4011_0000n);
    expect(x(r, "x20")).toBe(0x4011_0000n + 0x0400_0000n);
    expect(x(r, "x21")).toBe(0x4011_0000n + 0x0410_0000n);
    expect(x(r, "x22")).toBe(0x4011_0000n + 0x0400_0000n);
  });

  it("SYS_EXIT and SYS_EXIT_EXTENDED: ApplicationExit's subcode is the status, other reasons 1", async () => {
    for (const [op, reason, sub, code] of [
      ["EXIT", ADP_STOPPED_APPLICATION_EXIT, 0, 0],
      ["EXIT", ADP_STOPPED_APPLICATION_EXIT, 42, 42],
      ["EXIT_EXTENDED", ADP_STOPPED_APPLICATION_EXIT, 7, 7],
      ["EXIT", 0x20023, 5, 1], // RunTimeErrorUnknown
    ] as const) {
      const r = await exec(program(`adr x1, blk\ncall ${op}\nmov x0, #99`, `blk: .quad ${reason}, ${sub}`));
      expect(r.stop.kind).toBe("semihosting-exit");
      expect(r.stop.code).toBe(code);
      expect(x(r, "x0")).toBe(BigInt(SYS[op])); // the exit ends the run at the call
    }
  });

  it("exec's status for SYS_EXIT codes: itself when unambiguous, else 123", () => {
    expect([0, 42, 127].map(semihostingExitStatus)).toEqual([0, 42, 127]);
    expect([1, 2, 3, 70, 124, 128, 255, -1].map(semihostingExitStatus)).toEqual(Array(8).fill(123));
    expect(execExitCode({ kind: "semihosting-exit", message: "", code: 9 })).toBe(9);
  });

  it("SYS_OPEN modes above 11 fail with EINVAL, even for :tt; SYNCCACHE succeeds", async () => {
    const r = await exec(program(`
      adr x1, open
      call OPEN
      mov x19, x0
      call ERRNO
      mov x20, x0
      call SYNCCACHE
      mov x21, x0
    `, `tt: .asciz ":tt"
.balign 8
open: .quad tt, 12, 3`));
    expect([x(r, "x19"), x(r, "x20"), x(r, "x21")]).toEqual([2n ** 64n - 1n, BigInt(ERRNO.EINVAL), 0n]);
  });

  it("unknown operations fail with ENOSYS", async () => {
    const r = await exec(program("mov w0, #0x99\nhlt #0xf000\nmov x19, x0\ncall ERRNO"));
    expect(x(r, "x19")).toBe(2n ** 64n - 1n);
    expect(x(r, "x0")).toBe(BigInt(ERRNO.ENOSYS));
  });

  it("the bin: --semihosting prints to the console and exits with the program's code", async () => {
    const p = program(`adr x1, s\ncall WRITE0\nadr x1, blk\ncall EXIT`, `s: .asciz "bye\\n"
.balign 8
blk: .quad ${ADP_STOPPED_APPLICATION_EXIT}, 17`);
    const r = await nvlab("exec", p, "--semihosting");
    expect(r.stdout).toContain("bye\n");
    expect(r.stdout).toContain("semihosting SYS_EXIT");
    expect(r.code).toBe(17);
    const off = await nvlab("exec", p);
    expect(off.code).toBe(3);
    const bad = await nvlab("exec", p, "--semihosting-root", dir);
    expect(bad.code).toBe(1);
  });

  it("the bin: --semihosting-stdin feeds READC; --semihosting-cmdline reaches GET_CMDLINE", async () => {
    const input = join(dir, "stdin.txt");
    writeFileSync(input, "Q");
    const p = program(`
      call READC
      adr x1, c
      strb w0, [x1]
      call WRITEC
      adr x1, blk
      call GET_CMDLINE
      adr x1, buf
      call WRITE0
    `, `c: .byte 0
.balign 8
blk: .quad buf, 256
buf: .space 256`);
    const r = await nvlab("exec", p, "--semihosting", "--semihosting-stdin", input, "--semihosting-cmdline", "x y", "--json");
    expect(JSON.parse(r.stdout).console).toBe(`Q${p} x y`);
    const missing = await nvlab("exec", p, "--semihosting", "--semihosting-stdin", join(dir, "none"));
    expect(missing.code).toBe(1);
  });
});
