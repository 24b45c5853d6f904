// Fuzzing the debugger's command interpreter: random lines from its vocabulary with plausible and
// garbage arguments, on a real session. Every line prints something (output or an error naming the
// problem), never an internal error, and the session stays usable: a valid command afterwards works.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Repl } from "../../debug/repl.ts";
import { HYP, l2, pairOptions } from "../debug/session_fixture.ts";
import { DebugSession } from "../../debug/session.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";
import { EDGE_NUMBERS, expectUserMessage, withinWallTime } from "./mutate.ts";

const COMMANDS = [
  "step", "stepi", "s", "si", "next", "n", "continue", "c", "cont", "break", "b", "br", "delete", "d", "watch", "w", "info", "regs", "registers", "x",
  "disas", "disassemble", "pt", "mmus", "revmap", "accel", "metrics", "inject", "help", "h", "?", "frob", "STEP", "X",
];
const ARGS = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS),
  fc.constantFrom(
    "exit", "event", "b", "breakpoints", "watchpoints", "r", "rw", "wr", "unmap", "fail-revmap", "recycle", "tlbi", "split", "coalesce", "any", "bbm", "install-first",
    "/va", "/nipa", "/ipa", "/pa", "/l1", "/l2", "/x", "pc", "sp", "x0", "x30", "x31", "x99", "l2_entry", "hello.S:l2_entry", "hyp.S:l1_entry",
    "l1_entry+4", "l1_entry+0x100000000000000000", "l2_entry-4", "nosuch", "nosuch.S:x", "HVC64", "DABT_LOW", "0x24", "0xff", "shadow-fault",
    "tlbi", "canonical-fault", "recycle", "injection", "op=IPAS2E1IS", "op=ipas2e1is", "ipa=0x10000000000000000", "ipa=-1", "x=", "=", "mmu0",
    "mmu9", "vmalls12e1is", "ipas2e1is", "alle1", "0x48000000", "0x40000000", "0x40200000", "0x48001000", "0x1000", "0x200000", "4096", "100000", "100001", "4097",
    "#", "//", "''", '"', "\\", "$x", "%s", "\u0000", "\u001b[2J", "é", "1_000", "0b1", "1e3", "0x_1",
  ),
  fc.string({ maxLength: 8 }),
);
const LINE = fc
  .tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...COMMANDS) }, fc.string({ maxLength: 6 })), fc.array(ARGS, { maxLength: 4 }))
  .map(([cmd, args]) => [cmd, ...args].join(" "));

/** Most a line may take: `continue` runs hyp + hello to its end in well under this. */
const WALL_MS = 20_000;

describe("fuzz: debugger commands", () => {
  it("every line prints output or an error, never an internal error; the session stays usable", async () => {
    const tally = new Tally();
    const vm = await pairOptions(HYP, [l2("hello")]);
    await fc.assert(
      fc.asyncProperty(fc.array(LINE, { minLength: 1, maxLength: 6 }), async (lines) => {
        const session = await DebugSession.open({ vm: { ...vm, maxSteps: 200_000 } });
        let text = "";
        const repl = new Repl(session, (t) => (text += t));
        const run = async (line: string): Promise<{ out: string; more: boolean }> => {
          text = "";
          const more = await withinWallTime(`'${line}'`, WALL_MS, () => repl.execute(line));
          return { out: text, more };
        };
        for (const line of lines) {
          const { out, more } = await run(line);
          expectUserMessage(out, `'${line}'`);
          const words = line.trim().split(/\s+/).filter((w) => w !== "");
          const silent = words.length === 0 || words[0]!.startsWith("#") || !more;
          if (!silent) expect(out.trim(), `'${line}' printed nothing`).not.toBe("");
          tally.count(silent ? "silent" : /^error: /m.test(out) ? "error" : /^host error: /m.test(out) ? "host-error" : "output");
          // Still usable: a valid command answers as it should.
          const after = await run("info breakpoints");
          expect(after.out, `after '${line}'`).toMatch(/^(no breakpoints or watchpoints|id {2}hits {2}what)\n/);
          const regs = await run("regs");
          expect(regs.out, `regs after '${line}'`).toMatch(/^level L[12]\n/);
        }
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(200) },
    );
    tally.report("repl");
  });
});
