// The command interpreter: every command's output on a real guest, and bad input that leaves the
// session usable.

import { describe, expect, it } from "vitest";
import { Repl } from "../../debug/repl.ts";
import { DebugSession } from "../../debug/session.ts";
import { GUEST_PAIRS } from "../qemu/pairs.ts";
import { HYP, l2, openPair, pairOptions } from "./session_fixture.ts";

type Run = (line: string) => Promise<string>;

/** Run to L2's entry after L1 mapped it (the first stop is L1's fault on it). */
async function toL2Entry(run: Run): Promise<void> {
  await run("break hello.S:l2_entry");
  await run("continue");
  await run("continue");
}

/** toL2Entry, then one step without breakpoints: L2 runs on its shadow MMU. */
async function intoL2(run: Run): Promise<void> {
  await toL2Entry(run);
  await run("delete");
  await run("step");
}

/** Each command in turn must print exactly the string, or text matching the pattern. */
async function expectReplies(run: Run, replies: [line: string, reply: string | RegExp][]): Promise<void> {
  for (const [line, reply] of replies) {
    const text = await run(line);
    if (typeof reply === "string") expect(text, line).toBe(reply);
    else expect(text, line).toMatch(reply);
  }
}

async function repl(config = {}): Promise<{ r: Repl; out: () => string; run: Run }> {
  return replOn(await openPair(HYP, [l2("hello")], config));
}

function replOn(s: DebugSession): { r: Repl; out: () => string; run: Run } {
  let text = "";
  const r = new Repl(s, (t) => (text += t));
  const out = () => text;
  const run = async (line: string) => {
    text = "";
    await r.execute(line);
    return text;
  };
  return { r, out, run };
}

describe("Repl", () => {
  it("steps and shows the location line", async () => {
    const { run } = await repl();
    // The first fetch makes L0 map L1's RAM: the step says so.
    expect(await run("stepi")).toMatch(/^ {2}\[ +0\] canonical-fault IPA 0x40000000 .*\nL1 0x0000000040100004  <l1_entry\+0x4>  mov x0, #0\n$/);
    expect(await run("step 2")).toMatch(/^L1 0x000000004010000c  <l1_entry\+0xc>  /m);
  });

  it("breaks at a symbol, continues, and says why it stopped", async () => {
    const { run } = await repl();
    expect(await run("break hello.S:l2_entry")).toBe("breakpoint 1: l2_entry (L2 0x40000000)\n");
    const text = await run("continue");
    expect(text).toContain("L1: entering L2 #0 (VMID 1)\n");
    expect(text).toMatch(/breakpoint 1: l2_entry \(L2 0x40000000\)\nL2 0x0000000040000000  <l2_entry>  adr x0, #0x40000018\n$/);
    expect(await run("info breakpoints")).toBe("id  hits  what\n1   1     l2_entry (L2 0x40000000)\n");
  });

  it("breaks on exits and events and deletes breakpoints", async () => {
    const { run } = await repl();
    expect(await run("break exit DABT_LOW")).toBe("breakpoint 1: exit DABT_LOW (EC 0x24)\n");
    expect(await run("break event recycle")).toBe("breakpoint 2: event recycle\n");
    expect(await run("c")).toMatch(/exit breakpoint 1: L0 handled an exit, EC 0x24 DABT_LOW/);
    expect(await run("delete 1")).toBe("breakpoint 1 deleted\n");
    expect(await run("delete")).toBe("all breakpoints and watchpoints deleted\n");
    expect(await run("info b")).toBe("no breakpoints or watchpoints\n");
    const end = await run("continue");
    expect(end).toContain("the run is over: PSCI SYSTEM_OFF, exit code 0");
    expect(await run("continue")).toBe("error: the run is over (PSCI SYSTEM_OFF, exit code 0)\n");
  });

  it("shows registers, memory by address space, disassembly and translations", async () => {
    const { run } = await repl();
    await toL2Entry(run);
    const regs = await run("regs");
    expect(regs).toMatch(/^level L2\n/);
    expect(regs).toMatch(/cpsr 0x000003c5  ---- DAIF EL1h/);
    expect(regs).toMatch(/VTTBR_EL2 0x0001000044000000/);
    expect(await run("x /ipa hello.S:greeting 2")).toBe("canonical IPA 0x48000018 <greeting>:\n  0x0000000048000018:  0x6c6c6568 0x7266206f\n");
    expect(await run("x /nipa 0x40000018 1")).toBe("nested IPA 0x40000018:\n  0x0000000040000018:  0x6c6c6568\n");
    expect(await run("x pc 1")).toMatch(/^L2 VA 0x40000000 <pc>:\n/);
    const dis = await run("disas l2_puts 2");
    expect(dis).toMatch(/^   L2 0x0000000040000038  <l2_puts>  /);
    expect(dis.split("\n")).toHaveLength(3);
    expect(await run("disas")).toMatch(/^=> L2 0x0000000040000000  <l2_entry>/);
    const pt = await run("pt 0x40000000");
    expect(pt).toMatch(/^L2 VA 0x40000000\nL2 stage-1: .*off: identity/);
    expect(pt).toMatch(/L1 stage-2: nested IPA 0x40000000\n/);
    expect(pt).toMatch(/→ canonical IPA 0x48000000 \(4K RWX\)/);
    const l1pt = await run("pt /l1 l1_entry");
    expect(l1pt).toMatch(/^L1 VA 0x40100000\nL1 stage-1: .*\(off: identity\)\ncanonical stage-2: canonical IPA 0x40100000/);
  });

  it("shows L0's MMUs, revmap, accelerator and metrics", async () => {
    const { run } = await repl({ unmap: "accel" });
    await intoL2(run);
    await expectReplies(run, [
      ["mmus", /^mmu0 yes    1 +2 +1 +1 .*in use$/m],
      ["revmap mmu0", /canonical 0x48000000\.\.0x48000fff → nested IPA 0x40000000/],
      ["accel", /canonical 0x48000000\.\.0x48000fff → bit \d+ \(mmu0\)/],
      ["metrics", /^shadowFaults +2$/m], // L1 not yet mapped, then the fill
      ["revmap 7", /^error: no shadow MMU '7' \(there are 2: mmu0..mmu1\)/],
    ]);
  });

  it("injects by hand, as a scenario would, and the checker looks afterwards", async () => {
    const { run } = await repl({ check: true, unmap: "revmap" });
    await intoL2(run);
    await expectReplies(run, [
      ["inject unmap 0x48000000", "unmapped canonical 0x48000000+0x1000\n"],
      ["pt 0x40000000", /shadow stage-2 \(mmu0\) \(current\): no entry for nested IPA 0x40000000/],
      ["inject fail-revmap 2", "the next 2 revmap store(s) will fail\n"],
      ["inject recycle 1", "nothing valid to recycle\n"],
      ["inject tlbi vmalls12e1is", "TLBI VMALLS12E1IS, 0x0 done on behalf of L1\n"],
      ["metrics", /^injected\.unmaps +1$/m],
      ["inject tlbi nope", 'error: unknown TLBI operation "nope"\n'],
      ["inject", /^error: inject: unmap IPA/],
    ]);
    expect(await run("continue")).toContain("the run is over: PSCI SYSTEM_OFF, exit code 0");
  });

  it("splits and coalesces a canonical 2M block by hand; the guest runs on over the coalescing", async () => {
    const { run } = await repl({ check: true });
    await intoL2(run);
    // L2 #0 lives in the 2M block at canonical 0x48000000 (mapped as a block on first touch).
    expect(await run("inject split 0x48000000")).toBe("split canonical 0x48000000+0x200000 into 512 page mappings\n");
    expect(await run("inject coalesce 0x48000000 install-first")).toBe(
      "coalescing canonical 0x48000000+0x200000 (install-first, 512 page mappings, 512 ticks): it runs while the guest does\n",
    );
    expect(await run("inject coalesce 0x48001000")).toMatch(/^error: .*not 2M aligned/);
    expect(await run("inject coalesce 0x48000000 sideways")).toBe("error: inject coalesce: order sideways is not bbm or install-first\n");
    const m = await run("metrics");
    expect(m, m).toMatch(/^injected\.coalesces +1$/m);
    expect(await run("continue")).toContain("the run is over: PSCI SYSTEM_OFF, exit code 0");
  });

  it("steps over a call with next", async () => {
    const { run } = await repl();
    await intoL2(run); // the step runs the adr
    const text = await run("next"); // bl l2_puts: runs the whole call, printing through L1
    expect(text).toMatch(/L2 0x0000000040000008  <l2_entry\+0x8>  mov x0, #0xa\n$/);
  });

  it("keeps going after bad input", async () => {
    const { r, run } = await repl();
    await expectReplies(run, [
      ["frobnicate", "error: unknown command 'frobnicate' (type help)\n"],
      ["break", /^error: break: give/],
      ["break l2_entyr", /^error: no symbol 'l2_entyr' \(did you mean .*l2_entry/],
      ["break exit", /^error: break exit: give/],
      ["break event nope", /^error: no event kind 'nope'/],
      ["x", /^error: x: give an address/],
      ["x 0xzz", /^error: address: '0xzz' is not a number/],
      ["x /pa 0x10", "error: host PA 0x10 is not host memory\n"],
      // L1's stage-2 is still off: a nested IPA is a canonical IPA.
      ["x /nipa 0x50000000", "error: nested IPA 0x50000000: canonical IPA 0x50000000 is not L1 RAM\n"],
      ["step 0", "error: count 0 is out of range (1..100000)\n"],
      ["x 0x40100000 5000", "error: count 5000 is out of range (1..4096)\n"],
      ["delete 5", "error: no breakpoint 5\n"],
      ["pt", /^error: pt: give an address/],
      ["info", /^error: info: say/],
      ["# a comment", ""],
      ["", ""],
      ["help", /^commands/],
    ]);
    expect(await r.execute("quit")).toBe(false);
    expect(await run("stepi")).toMatch(/^L1 0x0000000040100004/m);
  });

  it("refuses addresses that wrap past 2^64 or are unaligned, naming the value, and injects nothing", async () => {
    const { run } = await repl();
    await expectReplies(run, [
      ["x 0x10000000000000000", "error: address: '0x10000000000000000' does not fit in 64 bits\n"],
      // A symbol plus an offset used to wrap silently (l1_entry+0xffffffffffffffff read 0x400fffff).
      ["x l1_entry+0xffffffffffffffff", "error: 'l1_entry+0xffffffffffffffff': 0x40100000 + 0xffffffffffffffff does not fit in 64 bits\n"],
      ["x 0xfffffffffffffffc 4", "error: x: 4 words from 0xfffffffffffffffc run past the top of the 64-bit address space\n"],
      ["disas 0xfffffffffffffffc 4", "error: disas: 4 instructions from 0xfffffffffffffffc run past the top of the 64-bit address space\n"],
      // Breakpoints no instruction can hit.
      ["break 0x40100001", "error: break: 0x40100001 (any level) is not 4-byte aligned, so no instruction starts there\n"],
      ["break /l2 0x40000002", "error: break: L2 0x40000002 is not 4-byte aligned, so no instruction starts there\n"],
      ["break l1_entry+2", "error: break: l1_entry+0x2 (L1 0x40100002) is not 4-byte aligned, so no instruction starts there\n"],
      ["inject unmap 0xfffffffffffff000 0x2000", "error: inject unmap: 0x2000 bytes from 0xfffffffffffff000 run past the top of the 64-bit address space\n"],
      ["inject unmap 0x48000123", "error: inject unmap: 0x48000123+0x1000 is not 4 KiB aligned (the host takes whole pages back)\n"],
      ["inject unmap 0x48000000 0x800", "error: inject unmap: 0x48000000+0x800 is not 4 KiB aligned (the host takes whole pages back)\n"],
      ["inject split 0x48000001", "error: inject split: 0x48000001 is not 2M aligned (give the start of the 2M block)\n"],
      ["inject coalesce 0x48100000", "error: inject coalesce: 0x48100000 is not 2M aligned (give the start of the 2M block)\n"],
      ["info breakpoints", "no breakpoints or watchpoints\n"],
      ["break l1_entry+4", "breakpoint 1: l1_entry+0x4 (L1 0x40100004)\n"],
    ]);
    // metrics lists counters that moved: none of the refused injections ran.
    expect(await run("metrics")).not.toMatch(/^injected\./m);
  });

  it("interrupt stops a running continue", async () => {
    const { r, run } = await repl();
    // L1 spins at its entry.
    r.session.writeMemory("va", 0x4010_0000n, new Uint8Array([0x00, 0x00, 0x00, 0x14]));
    expect(r.interrupt()).toBe(false);
    const pending = run("continue");
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.busy).toBe(true);
    expect(r.interrupt()).toBe(true);
    expect(await pending).toBe("interrupted\nL1 0x0000000040100000  <l1_entry>  b #0x40100000\n");
    expect(r.busy).toBe(false);
  });
});

describe("Repl: SIMD&FP registers", () => {
  it("regs v shows V0-V31, FPCR and FPSR; regs vN shows the lanes; bad names are refused", async () => {
    const s = await openPair(HYP, [l2("hello")]);
    let text = "";
    const r = new Repl(s, (t) => (text += t));
    const run = async (line: string): Promise<string> => {
      text = "";
      await r.execute(line);
      return text;
    };
    await run("stepi");
    s.setRegister("v3", (0x3ff0000000000000n << 64n) | 0x40490fdb_c0000000n);
    s.setRegister("v31", -1n);
    s.setRegister("fpcr", 0xffffffffn);
    s.setRegister("fpsr", (1n << 27n) | 0x10n);
    const all = await run("regs v");
    expect(all).toMatch(/^fpcr 0x07c00000 \(RZ FZ DN AHP\)  fpsr 0x08000010 \(QC IXC\)\n/);
    expect(all).toContain("\n v2 00000000000000000000000000000000   v3 3ff000000000000040490fdbc0000000\n");
    expect(all).toMatch(/  v31 f{32}\n$/);
    expect(await run("regs fp")).toBe(all);
    const v3 = await run("regs v3");
    expect(v3).toContain("  .d 3ff0000000000000 40490fdbc0000000   (1, ");
    expect(v3).toContain("  .s 3ff00000 00000000 40490fdb c0000000   (1.875, 0, 3.1415927410125732, -2)");
    expect(v3).toContain("  .b 3f f0 00 00 00 00 00 00 40 49 0f db c0 00 00 00");
    expect(await run("regs v32")).toMatch(/^error: regs: say 'regs', 'regs v'/);
  });
});

describe("Repl: watchpoints", () => {
  it("watch, info watchpoints, a stop that names the access, delete", async () => {
    const { run } = await repl();
    await toL2Entry(run);
    await run("delete");
    await expectReplies(run, [
      ["watch greeting 4 r", "watchpoint 2: r L2 VA 0x40000018 (4 bytes) = canonical IPA 0x48000018\n"],
      // L1's putc service reads L2's string through its own mapping of the same memory.
      [
        "continue",
        /^watchpoint 2 \(r L2 VA 0x40000018 \(4 bytes\) = canonical IPA 0x48000018\): read of 1 byte at L2 VA 0x40000018 \(L1 VA 0x48000018\) by L1 on vCPU 0 at PC 0x[0-9a-f]+ {2}ldrb w2, \[x0\], #1; value 0x68\nL1 0x[0-9a-f]{16} {2}<hvc_puts\+0x[0-9a-f]+> {2}/,
      ],
      ["info watchpoints", "id  hits  what\n2   1     r L2 VA 0x40000018 (4 bytes) = canonical IPA 0x48000018\n"],
      ["info breakpoints", "id  hits  what\n2   1     watch r L2 VA 0x40000018 (4 bytes) = canonical IPA 0x48000018\n"],
      ["delete 2", "watchpoint 2 deleted\n"],
      ["info w", "no watchpoints\n"],
    ]);
  });

  it("says what is wrong with a watch command, and the session goes on", async () => {
    const { run } = await repl();
    await toL2Entry(run);
    await expectReplies(run, [
      ["watch", "error: watch: give an address (watch [/va|/nipa|/ipa|/pa] [/l1|/l2] ADDR [LEN] [r|w|rw])\n"],
      ["watch greeting 4 w 9", "error: watch: too many arguments (watch [/va|/nipa|/ipa|/pa] [/l1|/l2] ADDR [LEN] [r|w|rw])\n"],
      ["watch /pa 0x7000000000", "error: watch: no host page at host PA 0x7000000000\n"],
      ["watch greeting 0", "error: watch: the length must be 1..1048576 bytes (got 0)\n"],
      ["watch /ipa 0x1000", "error: watch: canonical IPA 0x1000 is not L1 RAM\n"],
      ["delete 9", "error: no breakpoint 9 (breakpoints and watchpoints: 1)\n"],
      ["info x", "error: info: say 'info breakpoints', 'info watchpoints' or 'info vcpus'\n"],
      ["watch /ipa greeting 2 rw", "watchpoint 2: rw canonical IPA 0x48000018 (2 bytes)\n"],
    ]);
  });
});

describe("Repl: vCPUs", () => {
  it("info vcpus lists every vCPU; thread 3 (vCPU 2) then stepi moves only that vCPU", async () => {
    const pair = GUEST_PAIRS.find((p) => p.name === "smp+4")!;
    const s = await DebugSession.open({ vm: await pairOptions(pair.l1, pair.l2, { vcpus: 4 }) });
    const { run } = replOn(s);
    await run("break smp_secondary_entry");
    for (let i = 0; i < 3; i++) await run("continue");
    await run("delete");
    const list = (await run("info vcpus")).trimEnd().split("\n");
    expect(list).toHaveLength(4);
    list.forEach((line, n) => expect(line).toMatch(new RegExp(`^[* ] ${n} +thread ${n + 1} +vCPU ${n}, L1 +L1 0x[0-9a-f]{16}  <`)));
    expect(list[3]).toMatch(/^\* 3 /);
    const pcs = () => s.kvm.vcpus.map((v) => v.cpu.getPC());
    const before = pcs();
    expect(await run("thread 3")).toMatch(/^vCPU 2 \(thread 3\): L1 0x[0-9a-f]{16}  </);
    await run("stepi");
    const after = pcs();
    expect(after[2]).not.toBe(before[2]);
    expect([after[0], after[1], after[3]]).toEqual([before[0], before[1], before[3]]);
    expect(await run("info threads")).toMatch(/^\* 2 +thread 3 /m);
    await expectReplies(run, [
      ["vcpu 9", "error: no vCPU 9 (there are 4: 0..3)\n"],
      ["thread 0", "error: thread: threads are numbered from 1 (thread N is vCPU N-1)\n"],
      ["vcpu 0", /^vCPU 0 \(thread 1\): L1 0x/],
    ]);
  });
});
