// gdb-multiarch's watchpoints on nvlab (touch.S: L2 stores to fresh pages, L1 maps each in its
// stage-2 on the way): `watch` on an L2 variable stops at L2's store with gdb's old and new value,
// a watchpoint by canonical IPA (monitor space ipa) on L1's stage-2 descriptor stops at L1's store
// into it, `rwatch` there at L0's walk of it; an address nvlab cannot watch is refused.

import { afterEach, describe, expect, it } from "vitest";
import { assembleFile } from "../../../asm/assembler.ts";
import type { Image } from "../../../asm/image.ts";
import { hex } from "../../../emulator/types.ts";
import { DebugSession } from "../../../debug/session.ts";
import { type Served, cleanup, expectInOrder, gdb, gdbTitle, hasGdb, serveSession, withoutMonitorLines } from "./gdb_harness.ts";

const L2_IPA = 0x4800_0000n;
/** touch.S's first page (an L2 VA), and L1's level-3 descriptor for it (a canonical IPA). */
const PAGE0 = 0x4010_0000n;
const PAGE0_DESC = 0x4400_2800n;

afterEach(cleanup);

async function serve(): Promise<Served & { l1: Image; l2: Image }> {
  const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
  const l2 = await assembleFile("guests/l2/touch.S", { base: L2_IPA });
  const session = await DebugSession.open({ vm: { l1, l2: [{ image: l2, ipa: L2_IPA }] } });
  return { ...(await serveSession(session)), l1, l2 };
}

/** The L2 VA of touch.S's `str x3, [x22]`, the first store to each page. */
function firstStore(l2: Image): bigint {
  const at = l2.symbols.get("touch_start")! - L2_IPA + 0x4000_0000n;
  return at + 0x40n;
}

describe.skipIf(!hasGdb)(gdbTitle("gdb-multiarch's watchpoints"), () => {
  it("watch on an L2 variable stops at L2's store, with Old value / New value and nvlab's account of the access", async () => {
    const s = await serve();
    // Page 0 is mapped once its first word is stored: watch its last word, stored next.
    const first = firstStore(s.l2);
    const store = first + 8n; // str x4, [x22, #4088]
    const word = PAGE0 + 4088n;
    const { code, out } = await gdb(s, [
      `break *${hex(first + 4n)}`,
      "continue",
      "delete",
      `watch *(long *)${hex(word)}`,
      "continue",
      "x/i $pc - 4",
      "info registers level",
      "detach",
    ]);
    expect(code).toBe(0);
    expectInOrder(out, [
      `Hardware watchpoint 2: *(long *)${hex(word)}`,
      new RegExp(
        `\\[nvlab\\] watchpoint \\d+ .*write of 8 bytes at L2 VA ${hex(word)} .*by L2 on vCPU 0 at PC ${hex(store)} +str x4, \\[x22, #0xff8\\].*old 0x0 -> new 0xffffffffaaaaaaaa`,
      ),
      `Hardware watchpoint 2: *(long *)${hex(word)}`,
      "Old value = 0",
      `New value = ${-0x5555_5556}`,
      // gdb stepped over the store itself: it stops after it, as on the hardware.
      `${hex(store + 4n, 16)} in touch_start ()`,
      `   ${hex(store)} <touch_start+72>:\tstr\tx4, [x22, #4088]`,
      /level\s+0x2\s+2/,
      "[Inferior 1 (Remote target) detached]",
    ]);
    // gdb took its watchpoint out when it detached; the store was done once.
    expect(s.session.watchpoints()).toEqual([]);
    expect(s.session.readMemory("va", word, 8)).toEqual(Uint8Array.from([0xaa, 0xaa, 0xaa, 0xaa, 0xff, 0xff, 0xff, 0xff]));
    expect(s.session.location()!.pc).toBe(store + 4n);
  });

  it("by canonical IPA (monitor space ipa): watch on L1's stage-2 descriptor stops at L1's store, rwatch at L0's walk of it", async () => {
    const s = await serve();
    const map = s.l1.symbols.get("s2_map")!;
    const { code, out } = await gdb(s, [
      "break touch_start",
      "continue",
      "delete",
      "monitor space ipa",
      `watch *(long *)${hex(PAGE0_DESC)}`,
      "continue",
      "info registers level",
      "delete",
      `rwatch *(long *)${hex(PAGE0_DESC)}`,
      "continue",
      "monitor space va",
      "info registers level",
      "detach",
    ]);
    expect(code).toBe(0);
    const monitorLines = ["gdb's memory accesses are now in: ipa (canonical IPA)", "gdb's memory accesses are now in: va (L2 VA, the running level's)"];
    for (const line of monitorLines) expect(out).toContain(line);
    expectInOrder(withoutMonitorLines(out, monitorLines), [
      `Hardware watchpoint 2: *(long *)${hex(PAGE0_DESC)}`,
      new RegExp(
        `\\[nvlab\\] watchpoint \\d+ .*write of 8 bytes at canonical IPA 0x44002800 by L1 on vCPU 0 at PC ${hex(map + 0x14n)} +str x19, \\[x0\\].*old 0x0 -> new 0x481007ff`,
      ),
      "Old value = 0",
      `New value = ${0x481007ff}`,
      `${hex(map + 0x18n, 16)} in s2_map ()`,
      /level\s+0x1\s+1/,
      `Hardware read watchpoint 3: *(long *)${hex(PAGE0_DESC)}`,
      /\[nvlab\] watchpoint \d+ .*read of 8 bytes at canonical IPA 0x44002800 by L0\b.*L1's stage-2/,
      `Value = ${0x481007ff}`,
      // gdb's step after L0's read ran the L2 store L0 had been handling the fault of.
      `${hex(firstStore(s.l2) + 4n, 16)} in touch_start ()`,
      /level\s+0x2\s+2/,
      "[Inferior 1 (Remote target) detached]",
    ]);
    expect(s.session.readMemory("ipa", PAGE0_DESC, 8)).toEqual(Uint8Array.from([0xff, 0x07, 0x10, 0x48, 0, 0, 0, 0]));
  });

  it("a watchpoint on memory nvlab cannot watch is refused: gdb says it could not insert it", async () => {
    const s = await serve();
    const { code, out } = await gdb(s, ["break touch_start", "continue", "watch *(long *)0x7ffff000", "continue", "info registers level", "detach"]);
    expect(code).toBe(0);
    expectInOrder(out, ["Hardware watchpoint 2: *(long *)0x7ffff000", /level\s+0x2\s+2/, "[Inferior 1 (Remote target) detached]"]);
    // An error, which gdb writes apart from the rest (as monitor output).
    expect(out).toContain("Could not insert hardware watchpoint 2.");
    expect(s.logs.some((l) => /watch: L2 VA 0x7ffff000 is not/.test(l))).toBe(true);
    expect(s.session.watchpoints()).toEqual([]);
  });
});
