// The stub driven by the real gdb-multiarch (Debian's, as CI installs it) in batch mode: connect,
// break at an L2 symbol from the symbol file, continue, read registers and memory, stepi across
// the L2 → L1 switch, monitor commands, Ctrl-C on a runaway guest, gdb vanishing mid-continue;
// going back (reverse-stepi, reverse-continue, reverse-finish, monitor goto / reset) and
// extended-remote's run after the guest powered off.

import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assembleFile } from "../../../asm/assembler.ts";
import type { Image } from "../../../asm/image.ts";
import { hex } from "../../../emulator/types.ts";
import { DebugSession } from "../../../debug/session.ts";
import { type Served as ServedSession, cleanup, dir, expectInOrder, gdb, gdbTitle, hasGdb, serveSession, until } from "./gdb_harness.ts";

const title = gdbTitle("gdb-multiarch drives the stub");

const L2_IPA = 0x4800_0000n;
const L2_VA = 0x4000_0000n;

afterEach(cleanup);

interface Served extends ServedSession { l1: Image; l2: Image; console: string[] }

async function serve(l2File: string): Promise<Served> {
  const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
  const l2 = await assembleFile(l2File, { base: L2_IPA });
  const consoleBytes: string[] = [];
  const session = await DebugSession.open({
    vm: { l1, l2: [{ image: l2, ipa: L2_IPA }], onConsole: (b) => consoleBytes.push(String.fromCharCode(b)) },
  });
  return { ...(await serveSession(session)), l1, l2, console: consoleBytes };
}

/** Where an L2 label of the image runs. */
const l2Va = (l2: Image, label: string) => l2.symbols.get(label)! - L2_IPA + L2_VA;

/** A second VM of the same guests, for the steps and places gdb's session should find. */
async function reference(s: Served): Promise<DebugSession> {
  return DebugSession.open({ vm: { l1: s.l1, l2: [{ image: s.l2, ipa: L2_IPA }] } });
}

describe.skipIf(!hasGdb)(title, () => {
  it("connect, break at an L2 symbol, continue, registers, memory, stepi into L1, monitor, detach", async () => {
    const s = await serve("guests/l2/hello.S");
    const puts = l2Va(s.l2, "l2_puts");
    const greeting = l2Va(s.l2, "greeting");
    const { code, out } = await gdb(s, [
      "info registers pc level",
      "break l2_puts",
      "continue",
      "info registers x0 pc cpsr level",
      "info registers system",
      "x/4wx $pc",
      "x/s $x0",
      "set {char}$x0 = 'J'",
      "x/s $x0",
      "x/2wx 0x7ffff000",
      "stepi",
      "stepi",
      "stepi",
      "info registers pc level",
      "monitor level",
      "monitor pt 0x40000000 L2",
      "monitor mmus",
      "monitor metrics",
      "monitor frobnicate",
      "detach",
    ]);
    expect(code).toBe(0);
    // Connected at L1's entry, in virtual EL2.
    expect(out).toMatch(/0x0000000040100000 in l1_entry \(\)/);
    expect(out).toMatch(/level\s+0x1\s+1/);
    // The breakpoint comes from the symbol file, at the address L2 runs the label at.
    expect(out).toContain(`Breakpoint 1 at ${hex(puts)}`);
    expect(out).toContain(`[nvlab] breakpoint: L2 ${hex(puts, 16)}  <l2_puts>  mov x1, x0`);
    expect(out).toContain(`Breakpoint 1, ${hex(puts, 16)} in l2_puts ()`);
    // Registers are L2's: x0 points at the string, EL1h, level 2.
    expect(out).toMatch(new RegExp(`x0\\s+${hex(greeting)}\\s`));
    expect(out).toMatch(new RegExp(`pc\\s+${hex(puts)}\\s+${hex(puts)} <l2_puts>`));
    expect(out).toMatch(/cpsr\s+0x3c5\s+\[ SP EL=1 F I A D BTYPE=0 \]/);
    expect(out).toMatch(/level\s+0x2\s+2/);
    // The EL1 / virtual-EL2 registers of nvlab's target description: L1 has set up its stage-2.
    expect(out).toMatch(/sctlr_el1\s+0x[0-9a-f]+/);
    expect(out).toMatch(/hcr_el2\s+0x[0-9a-f]*[13579bdf]\s/); // HCR_EL2.VM
    expect(out).toMatch(/vttbr_el2\s+0x[1-9a-f][0-9a-f]*\s/);
    expect(out).toMatch(/hpfar_el2\s+0x[0-9a-f]+/);
    // Memory: the image's own words at l2_puts, and the string x0 points at.
    const words = [0, 1, 2, 3].map((i) => {
      const off = Number(s.l2.symbols.get("l2_puts")! - L2_IPA) + 4 * i;
      const b = s.l2.sections[0]!.bytes;
      return "0x" + ((b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0).toString(16).padStart(8, "0");
    });
    expect(out).toContain(`${hex(puts)} <l2_puts>:\t${words.join("\t")}`);
    expect(out).toContain(`${hex(greeting)} <greeting>:\t"hello from L2"`);
    // Writes go to guest memory (gdb falls back from X to M packets); unmapped memory is an error.
    expect(out).toContain(`${hex(greeting)} <greeting>:\t"Jello from L2"`);
    expect(out).toContain("0x7ffff000:\tCannot access memory at address 0x7ffff000");
    // stepi: mov, mov, then the hvc traps and L1's vector runs next.
    expect(out).toContain(`${hex(puts + 4n, 16)} in l2_puts ()`);
    expect(out).toContain(`${hex(puts + 8n, 16)} in l2_puts ()`);
    expect(out).toContain("[nvlab] L2 -> L1");
    expect(out).toMatch(/\[nvlab\] now in L1: L1 0x0000000040101400  <l1_vectors\+0x400>/);
    expect(out).toMatch(/pc\s+0x40101400\s+0x40101400 <l1_vectors\+1024>\s+level\s+0x1\s+1/);
    expect(out).toContain("L1: L1 0x0000000040101400  <l1_vectors+0x400>");
    expect(out).toMatch(/L1 stage-2: nested IPA 0x40000000[\s\S]*→ canonical IPA 0x48000000/);
    expect(out).toMatch(/\nmmu0 +yes /); // valid; not in use while L1 runs
    expect(out).toMatch(/exits\.HVC64 +[1-9]/);
    expect(out).toContain("error: unknown monitor command 'frobnicate' (try: monitor help)");
    expect(out).toContain("[Inferior 1 (Remote target) detached]");
    expect(s.console.join("")).toContain("L1: entering L2 #0");
    // gdb removed its breakpoint before detaching; the server waits for the next client.
    expect(s.session.breakpoints()).toEqual([]);
    await until(() => s.logs.some((l) => l.includes("waiting for the next connection")), "the disconnect");
  });

  it("Ctrl-C stops a guest that runs away", async () => {
    const spin = join(dir, "spin.S");
    writeFileSync(spin, "l2_entry:\n        mov x0, #0\nspin:\n        add x0, x0, #1\n        b spin\n");
    const s = await serve(spin);
    const { code, out } = await gdb(s, ["continue", "info registers level", "monitor level", "detach"], (child) => {
      void until(() => s.session.vcpu.cpu.steps > 2_000_000, "the guest to run").then(() => child.kill("SIGINT"));
    });
    expect(code).toBe(0);
    expect(out).toMatch(/\[nvlab\] interrupted: L2 0x00000000400000(04|08)  <spin(\+0x4)?>/);
    expect(out).toContain("Program received signal SIGINT, Interrupt.");
    expect(out).toMatch(/level\s+0x2\s+2/);
    const steps = s.session.vcpu.cpu.steps;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.session.vcpu.cpu.steps).toBe(steps);
  });

  it("gdb killed mid-continue: the guest stops, the next gdb finds it where it stopped", async () => {
    const spin = join(dir, "spin2.S");
    writeFileSync(spin, "l2_entry:\n        mov x0, #0\nspin:\n        add x0, x0, #1\n        b spin\n");
    const s = await serve(spin);
    await gdb(s, ["continue"], (child) => {
      void until(() => s.session.vcpu.cpu.steps > 2_000_000, "the guest to run").then(() => child.kill("SIGKILL"));
    });
    await until(() => s.logs.some((l) => l.includes("waiting for the next connection")), "the disconnect");
    const steps = s.session.vcpu.cpu.steps;
    const x0 = s.session.registers().x[0]!;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.session.vcpu.cpu.steps).toBe(steps);
    const { code, out } = await gdb(s, ["info registers x0 level", "detach"]);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`x0\\s+${hex(x0)}\\s`));
    expect(out).toMatch(/level\s+0x2\s+2/);
  });

  it("a second gdb is refused while one is connected", async () => {
    const s = await serve("guests/l2/hello.S");
    let second: { code: number | null; out: string } | null = null;
    const first = gdb(s, ["shell sleep 2", "detach"]);
    await until(() => s.logs.some((l) => l.startsWith("gdb connected")), "the first gdb");
    second = await gdb(s, []);
    await first;
    expect(second.out).toContain("another gdb is already connected to this nvlab gdbserver (one client at a time)");
  });

  it("shows and sets the V registers, FPSR and FPCR through gdb's aarch64 FP feature", async () => {
    const s = await serve("guests/l2/hello.S");
    s.session.setRegister("v0", (0x4000000000000000n << 64n) | 0x3ff0000000000000n); // 2.0, 1.0
    s.session.setRegister("fpsr", 0x8000010n);
    s.session.setRegister("fpcr", 0x1400000n);
    const { code, out } = await gdb(s, [
      "info registers v0",
      "p $v0.d.u",
      "p $v0.d.f",
      "p/x $q0",
      "p $d0",
      "set var $v1.s.u[2] = 0xdeadbeef",
      "set var $v2.b.u[15] = 0x7f",
      "p/x $v1.s.u",
      "p/x $fpsr",
      "p/x $fpcr",
      "set var $fpcr = 0x800000",
      "detach",
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/v0\s+\{d = \{f = \{0x3ff0000000000000, 0x4000000000000000\}, u = .* q = \{u = \{0x40000000000000003ff0000000000000\}/);
    expect(out).toContain("= {4607182418800017408, 4611686018427387904}");
    expect(out).toContain("= {1, 2}");
    expect(out).toMatch(/= \{u = 0x40000000000000003ff0000000000000, s = 0x40000000000000003ff0000000000000\}/);
    expect(out).toMatch(/= \{f = 1, u = 4607182418800017408, s = 4607182418800017408\}/);
    expect(out).toContain("= {0x0, 0x0, 0xdeadbeef, 0x0}");
    expect(out).toContain("= 0x8000010");
    expect(out).toContain("= 0x1400000");
    const fp = s.session.fpRegisters();
    expect(fp.v[1]).toBe(0xdeadbeefn << 64n);
    expect(fp.v[2]).toBe(0x7fn << 120n);
    expect(fp.fpcr).toBe(0x800000);
  });
});

describe.skipIf(!hasGdb)(gdbTitle("gdb-multiarch goes back in time"), () => {
  it("reverse-stepi back across the L2 → L1 switch, reverse-continue to breakpoints and to the start, monitor goto / reset / why", async () => {
    const s = await serve("guests/l2/hello.S");
    const puts = l2Va(s.l2, "l2_puts");
    const vector = s.l1.symbols.get("l1_vectors")! + 0x400n;
    // Where the run is at each stop, from a VM of its own: the first L1 vector entry (L2's first
    // stage-2 fault), l2_puts, and L1's vector again after l2_puts's hvc.
    const ref = await reference(s);
    const refBreak = ref.addAddressBreak({ va: vector });
    const faultStep = (await ref.continue()).time;
    ref.deleteBreak(refBreak.id);
    ref.addAddressBreak({ va: puts });
    const putsStep = (await ref.continue()).time;
    const step5 = ref.goto(5).location!;
    const { code, out } = await gdb(s, [
      "break l2_puts",
      "continue",
      `break *${hex(vector)}`,
      "continue",
      "reverse-stepi",
      "info registers pc level",
      "reverse-stepi",
      "reverse-stepi",
      "monitor why 0x40000000 nipa",
      "reverse-continue",
      "monitor level",
      "reverse-continue",
      "info registers pc level",
      "reverse-stepi",
      "continue",
      "continue",
      `monitor goto 5`,
      "maintenance flush register-cache",
      "info registers pc level",
      "monitor reset",
      "maintenance flush register-cache",
      "info registers pc level",
      "continue",
      "detach",
    ]);
    expect(code).toBe(0);
    const at = (va: bigint, sym: string) => `${hex(va, 16)} in ${sym} ()`;
    expectInOrder(out, [
      `Breakpoint 1, ${at(puts, "l2_puts")}`,
      `Breakpoint 2 at ${hex(vector)}`,
      `[nvlab] breakpoint: L1 ${hex(vector, 16)}  <l1_vectors+0x400>`,
      `Breakpoint 2, ${at(vector, "l1_vectors")}`,
      // Back from L1's vector to the hvc that took L2 there, and on to l2_puts.
      `[nvlab] now in L2, at step ${putsStep + 2}: L2 ${hex(puts + 8n, 16)}  <l2_puts+0x8>  hvc #0`,
      at(puts + 8n, "l2_puts"),
      new RegExp(`pc\\s+${hex(puts + 8n)}\\s+${hex(puts + 8n)} <l2_puts\\+8>\\s+level\\s+0x2\\s+2`),
      at(puts + 4n, "l2_puts"),
      `Breakpoint 1, ${at(puts, "l2_puts")}`,
      // L0's history of L2's first page: the shadow fault is just before l2_puts.
      "why 0x40000000 (nested IPA):",
      new RegExp(`\\n +\\d+ +shadow-fault +mmu0 nested 0x40000000 -> canonical 0x48000000`),
      // reverse-continue: the previous break is L1's vector for L2's first stage-2 fault...
      `[nvlab] breakpoint: L1 ${hex(vector, 16)}  <l1_vectors+0x400>`,
      `Breakpoint 2, ${at(vector, "l1_vectors")}`,
      "L1: L1 0x0000000040101400  <l1_vectors+0x400>",
      // ...and before it nothing: the start of the run, where going back ends.
      "[nvlab] no earlier break: at the start of the run: L1 0x0000000040100000  <l1_entry>",
      "No more reverse-execution history.",
      at(s.l1.entry, "l1_entry"),
      /pc\s+0x40100000\s+0x40100000 <l1_entry>\s+level\s+0x1\s+1/,
      "[nvlab] at the start of the run, nothing before it: L1 0x0000000040100000  <l1_entry>",
      "No more reverse-execution history.",
      // Forward again: the same breakpoints, in the same order.
      `Breakpoint 2, ${at(vector, "l1_vectors")}`,
      `Breakpoint 1, ${at(puts, "l2_puts")}`,
      `[nvlab] now in L1, at step 5: ${step5.text}`,
      "'maintenance flush register-cache'",
      new RegExp(`pc\\s+${hex(step5.pc)}\\s+${hex(step5.pc)} <l1_entry\\+20>\\s+level\\s+0x1\\s+1`),
      "[nvlab] at the start of the run (step 0): L1 0x0000000040100000  <l1_entry>",
      /pc\s+0x40100000\s+0x40100000 <l1_entry>\s+level\s+0x1\s+1/,
      `Breakpoint 2, ${at(vector, "l1_vectors")}`,
      "[Inferior 1 (Remote target) detached]",
    ]);
    // Within a level a step back is as quiet as a step forward: gdb shows where it is.
    expect(out).not.toContain(`at step ${putsStep + 1}`);
    expect(faultStep).toBeLessThan(putsStep);
    // The VM is where gdb left it: the first vector entry, after the reset.
    expect(s.session.kvm.steps).toBe(faultStep);
  });

  it("reverse-finish runs back to the bl that called the function", async () => {
    const s = await serve("guests/l2/hello.S");
    // handle_lower_sync: `bl s2_fault` just before lower_sync_return.
    const call = s.l1.symbols.get("lower_sync_return")! - 4n;
    const { code, out } = await gdb(s, ["break s2_fault", "continue", "stepi 4", "delete", "reverse-finish", "x/i $pc", "info registers level", "detach"]);
    expect(code).toBe(0);
    expectInOrder(out, [
      /Breakpoint 1, 0x[0-9a-f]+ in s2_fault \(\)/,
      // gdb runs back to the function's entry (a breakpoint of its own), then one instruction more.
      /\[nvlab\] breakpoint: L1 0x[0-9a-f]+  <s2_fault>  stp x29, x30/,
      `${hex(call, 16)} in handle_lower_sync ()`,
      new RegExp(`=> ${hex(call)} <handle_lower_sync\\+\\d+>:\\tbl\\t${hex(s.l1.symbols.get("s2_fault")!)} <s2_fault>`),
      /level\s+0x1\s+1/,
    ]);
  });

  it("extended-remote: gdb stays connected when the guest powers off, and run starts it again from the start", async () => {
    const s = await serve("guests/l2/hello.S");
    const puts = l2Va(s.l2, "l2_puts");
    // `break *ADDR`: with no process gdb reads a function's first instructions from the symbol
    // file and, when they look like a prologue, breaks past them (l2_puts+8 after the next run).
    const { code, out } = await gdb(s, ["continue", `break *${hex(puts)}`, "run", "info registers pc level", "reverse-stepi", "kill", "run", "detach"], undefined, "extended-remote");
    expect(code).toBe(0);
    expectInOrder(out, [
      "[nvlab] the run is over: PSCI SYSTEM_OFF, exit code 0",
      "[Inferior 1 (Remote target) exited normally]",
      `Breakpoint 1, ${hex(puts, 16)} in l2_puts ()`,
      new RegExp(`pc\\s+${hex(puts)}\\s+${hex(puts)} <l2_puts>\\s+level\\s+0x2\\s+2`),
      // Back to the bl in l2_entry that called l2_puts.
      `${hex(l2Va(s.l2, "l2_entry") + 4n, 16)} in l2_entry ()`,
      "[Inferior 1 (Remote target) killed]",
      `Breakpoint 1, ${hex(puts, 16)} in l2_puts ()`,
      "[Inferior 1 (Remote target) detached]",
    ]);
    // The guest ran to its end once and from the start three times.
    expect(s.console.join("").match(/L1: entering L2 #0/g)?.length).toBe(3);
    expect(s.console.join("").match(/hello from L2/g)?.length).toBe(1);
    // A kill in extended mode ends the process, not the server.
    expect(s.logs.some((l) => l.includes("shutting down"))).toBe(false);
  });
});

describe.skipIf(!hasGdb)(gdbTitle("README's gdb session"), () => {
  it("is what gdb-multiarch really prints for those commands", async () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("## Debugging with gdb-multiarch"));
    const block = /```\n(0x[\s\S]*?)```/.exec(section)![1]!.trimEnd().split("\n");
    const commands = block.filter((l) => l.startsWith("(gdb) ")).map((l) => l.slice("(gdb) ".length));
    const expected = block.filter((l) => !l.startsWith("(gdb) ") && l.trim() !== "");
    expect(commands.length).toBeGreaterThan(5);
    const s = await serve("guests/l2/hello.S");
    const { code, out } = await gdb(s, commands);
    expect(code).toBe(0);
    // Every output line of the README, in order.
    const lines = out.split("\n");
    let at = 0;
    for (const want of expected) {
      const i = lines.indexOf(want, at);
      expect(i, `README line not in gdb's output (in order): ${JSON.stringify(want)}\n--- gdb printed:\n${out}`).toBeGreaterThanOrEqual(0);
      at = i + 1;
    }
  });
});
