// SessionTarget's memory spaces: gdb's reads and writes at the current level's VAs by default, or
// at nested IPAs, canonical IPAs (L1's stage-2 tables) or host PAs (L0's tables), switched by
// `monitor phys` / `monitor space` or QEMU's Qqemu.PhyMemMode.

import { describe, expect, it } from "vitest";
import { hexToText, textToHex, toHex } from "../../../debug/gdb/packet.ts";
import { DebugSession } from "../../../debug/session.ts";
import { FakeGdb } from "./fake_target.ts";
import { L2_IPA, openAtL2 } from "./session_target_fixture.ts";

/** At l2_puts: L2 runs, L1's stage-2 and the shadow stage-2 map L2's first page. */
async function openAtPuts() {
  const { session, target, at } = await openAtL2("guests/l2/hello.S", "l2_puts");
  return { session, target, puts: at };
}

/** The root of the shadow stage-2 L2 runs on, a host PA. */
const shadowRoot = (s: DebugSession) => BigInt(s.vcpu.hwMmu!.pgt.pgdPa);
/** The root of L1's stage-2 for L2, a canonical IPA (VTTBR_EL2's BADDR). */
const l1Stage2Root = (s: DebugSession) => s.registers().vel2.VTTBR_EL2! & 0xffff_ffff_fffen;

describe("SessionTarget: memory spaces", () => {
  it("reads and writes the current level's VAs by default", async () => {
    const { target, session, puts } = await openAtPuts();
    expect(target.memorySpace()).toBe("va");
    expect(target.readMemory(puts, 4)).toEqual(session.readMemory("va", puts, 4));
    expect(target.readMemory(puts, 4)).toEqual(session.readMemory("ipa", puts - 0x4000_0000n + L2_IPA, 4));
  });

  it("in each space reads what the session reads there: host PA (a shadow table), canonical IPA (L1's stage-2), nested IPA", async () => {
    const { target, session } = await openAtPuts();
    expect(session.vcpu.hwMmu?.isNested).toBe(true);
    const cases = [["pa", shadowRoot(session)], ["ipa", l1Stage2Root(session)], ["nipa", 0x4000_0000n]] as const;
    for (const [space, addr] of cases) {
      target.setMemorySpace(space);
      const bytes = target.readMemory(addr, 16);
      expect(bytes, space).toEqual(session.readMemory(space, addr, 16));
      expect(bytes.some((b) => b !== 0), `${space}: a table with entries`).toBe(true);
    }
    // A VA there is not mapped in the host's physical space.
    target.setMemorySpace("pa");
    expect(() => target.readMemory(0x7fff_f000_0000n, 4)).toThrow(/not host memory/);
  });

  it("writes go to that space", async () => {
    const { target, session } = await openAtPuts();
    target.setMemorySpace("ipa");
    const spare = 0x4400_1ff0n;
    target.writeMemory(spare, Uint8Array.from([1, 2, 3, 4]));
    expect(session.readMemory("ipa", spare, 4)).toEqual(Uint8Array.from([1, 2, 3, 4]));
  });

  it("monitor phys on|off and space switch it; the stub's m packet then reads there", async () => {
    const { target, session } = await openAtPuts();
    const gdb = new FakeGdb(target);
    const root = shadowRoot(session);
    const monitor = async (cmd: string) => hexToText(await gdb.ask("qRcmd," + textToHex(cmd)));
    expect(await monitor("phys on")).toBe("gdb's memory accesses are now in: pa (host PA)\n");
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("1");
    expect(await gdb.ask(`m${root.toString(16)},10`)).toBe(toHex(session.readMemory("pa", root, 16)));
    expect(await monitor("space ipa")).toBe("gdb's memory accesses are now in: ipa (canonical IPA)\n");
    const s2 = l1Stage2Root(session);
    expect(await gdb.ask(`m${s2.toString(16)},10`)).toBe(toHex(session.readMemory("ipa", s2, 16)));
    expect(await monitor("space")).toBe("gdb's memory accesses are in: ipa (canonical IPA)\n");
    expect(await gdb.ask("qqemu.PhyMemMode")).toBe("0");
    expect(await monitor("phys off")).toBe("gdb's memory accesses are now in: va (L2 VA, the running level's)\n");
    expect(await monitor("space elsewhere")).toBe("error: 'elsewhere' is not an address space (va, nipa, ipa, pa)\n");
    expect(target.memorySpace()).toBe("va");
    expect(await gdb.ask("Qqemu.PhyMemMode:1")).toBe("OK");
    expect(await monitor("space")).toBe("gdb's memory accesses are in: pa (host PA)\n");
  });
});
