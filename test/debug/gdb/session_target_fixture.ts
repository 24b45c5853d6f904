// Shared by the SessionTarget tests: hyp.S with one L2, run through the target (as gdb would) to an
// L2 label, with the breakpoint taken out again.

import { assembleFile } from "../../../asm/assembler.ts";
import type { Image } from "../../../asm/image.ts";
import { SessionTarget } from "../../../debug/gdb/session_target.ts";
import { DebugSession } from "../../../debug/session.ts";

export const L2_IPA = 0x4800_0000n;

/** `l2File` under hyp.S, stopped at its label `label` (an L2 VA in the nested window, `at`). */
export async function openAtL2(l2File: string, label: string): Promise<{ session: DebugSession; target: SessionTarget; l1: Image; at: bigint }> {
  const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
  const l2 = await assembleFile(l2File, { base: L2_IPA });
  const session = await DebugSession.open({ vm: { l1, l2: [{ image: l2, ipa: L2_IPA }] } });
  const target = new SessionTarget(session);
  const at = l2.symbols.get(label)! - L2_IPA + 0x4000_0000n;
  target.insertBreakpoint(at);
  await target.resume(new AbortController().signal);
  target.removeBreakpoint(at);
  return { session, target, l1, at };
}
