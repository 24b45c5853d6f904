// The packet that tells gdb the target stopped: `W` with the exit status for a powered-off
// machine, else `T` with the signal and the fields gdb reads to explain the stop (a watchpoint's
// address, a software breakpoint, the end of the recorded history) and the thread that stopped.

import { guestExitStatus } from "../../lab/exit_status.ts";
import { formatThreadId } from "./thread_id.ts";
import type { TargetStop } from "./target.ts";

export function stopReplyPacket(stop: TargetStop): string {
  // W carries 8 bits: the status `nvlab run` would exit with, so gdb's $_exitcode agrees with it;
  // the real code is in the console line before it (session_target.ts).
  if (stop.kind === "exited") return "W" + guestExitStatus(stop.code).toString(16).padStart(2, "0");
  const sig = stop.signal.toString(16).padStart(2, "0");
  // `watch:ADDR` (or rwatch/awatch) has gdb find its watchpoint and print the value before and after.
  const watch = stop.watch ? `${stop.watch.kind}:${stop.watch.addr.toString(16)};` : "";
  // `replaylog:begin` is gdb's "no more reverse-execution history" (the value is not looked at).
  const why = stop.historyStart ? "replaylog:begin;" : stop.swbreak ? "swbreak:;" : "";
  // `nvlab-level` is an optional stop-reply field: gdb skips keys it does not know.
  return `T${sig}${watch}${why}thread:${formatThreadId(stop.thread)};nvlab-level:${stop.level === "L1" ? 1 : 2};`;
}
