// `why ADDR [nipa|ipa|pa|auto] [mmuN] [all]`: the debugger's provenance command (the REPL's `why`,
// gdb's `monitor why`), one call from its argument text to the lines to print. The query itself is
// the lab's (lab/why.ts), which the invariant checker's reports use too.

import type { Kvm } from "../hypervisor/vm.ts";
import { formatWhy, why, type WhyResult, type WhySpace } from "../lab/why.ts";
import { DebugError, parseAddress } from "./errors.ts";

export { formatWhy, formatWhyEntry, why, WHY_LIMIT, type WhyEntry, type WhyOptions, type WhyResult, type WhySpace } from "../lab/why.ts";

export const WHY_USAGE = "why ADDR [nipa|ipa|pa|auto] [mmuN] [all]";

export interface WhyArgs {
  addr: bigint;
  space: WhySpace | "auto";
  mmu?: number;
  /** `all`: every entry the history holds, not just the newest WHY_LIMIT. */
  all: boolean;
}

const SPACES: readonly (WhySpace | "auto")[] = ["nipa", "ipa", "pa", "auto"];

/** Read the command's arguments; throws DebugError saying what is wrong. */
export function parseWhyArgs(text: string): WhyArgs {
  const [first, ...rest] = text.trim().split(/\s+/).filter((t) => t !== "");
  if (first === undefined) throw new DebugError(`usage: ${WHY_USAGE}`);
  const args: WhyArgs = { addr: parseAddress(first), space: "auto", all: false };
  for (const t of rest) {
    const word = t.toLowerCase();
    const mmu = /^mmu(\d+)$/.exec(word);
    if ((SPACES as readonly string[]).includes(word)) args.space = word as WhySpace | "auto";
    else if (mmu) args.mmu = Number(mmu[1]);
    else if (word === "all") args.all = true;
    else throw new DebugError(`why: '${t}' is not a space (nipa, ipa, pa, auto), mmuN or all; usage: ${WHY_USAGE}`);
  }
  if (args.mmu !== undefined && args.space !== "nipa") throw new DebugError("why: mmuN names a shadow MMU, whose addresses are nested IPAs: add nipa");
  return args;
}

/** Answer `why` for the parsed arguments. */
export function whyOf(kvm: Kvm, a: WhyArgs): WhyResult {
  return why(kvm, a.addr, a.space, { ...(a.mmu !== undefined ? { mmu: a.mmu } : {}), ...(a.all ? { limit: Infinity } : {}) });
}

/** The whole command: argument text in, the lines to print out (step first on each event line, for `goto`). */
export function whyCommand(kvm: Kvm, text: string): string[] {
  return formatWhy(whyOf(kvm, parseWhyArgs(text)));
}
