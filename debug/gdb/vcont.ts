// vCont's actions, and what they come to in all-stop mode: nvlab stops every vCPU at each stop,
// so a vCont either steps one vCPU (the others stay where they are) or runs them all.

import { type ThreadRef, parseThreadId } from "./thread_id.ts";

export interface VContAction {
  op: "c" | "s";
  /** The thread the action is for; "all" when the action names none. */
  thread: ThreadRef;
}

/**
 * `c`, `Csig`, `s`, `Ssig`, each with an optional `:thread`; null for anything else (range
 * stepping `r`, stop `t`, a malformed signal or thread). Signals are not delivered to a guest.
 */
export function parseVCont(arg: string): VContAction[] | null {
  const actions: VContAction[] = [];
  for (const part of arg.split(";")) {
    const colon = part.indexOf(":");
    const what = colon < 0 ? part : part.slice(0, colon);
    const thread = colon < 0 ? "all" : parseThreadId(part.slice(colon + 1));
    if (thread === null || !/^(?:[cs]|[CS][0-9a-fA-F]{2})$/.test(what)) return null;
    actions.push({ op: what[0]!.toLowerCase() as "c" | "s", thread });
  }
  return actions;
}

/**
 * What to do: step the thread of the first step action ("current": the one gdb selected, when
 * that action names no single thread), else run every vCPU. gdb's `stepi` sends `vCont;s:N;c`
 * (step N, let the others run meanwhile): in all-stop mode the others simply wait.
 */
export function vContPlan(actions: readonly VContAction[]): { step: number | "current" } | { run: true } {
  const step = actions.find((a) => a.op === "s");
  if (step) return { step: typeof step.thread === "number" ? step.thread : "current" };
  return { run: true };
}
