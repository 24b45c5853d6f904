// gdb's thread ids as they appear in H, T, vCont, qThreadExtraInfo and stop replies: hex numbers,
// 0 for "any thread", -1 for "all threads", and the multiprocess form `pPID.TID` (gdb uses it only
// when the stub offers multiprocess+, which nvlab does not, but a stub should still read it).

/** A thread id as gdb wrote it: one thread, or any / all of them. */
export type ThreadRef = number | "any" | "all";

/** The thread named by `text`; null when it is not a thread id. */
export function parseThreadId(text: string): ThreadRef | null {
  const m = /^(?:p(?:-1|[0-9a-fA-F]{1,8})\.)?(-1|[0-9a-fA-F]{1,8})$/.exec(text);
  if (!m) return null;
  if (m[1] === "-1") return "all";
  const tid = parseInt(m[1]!, 16);
  return tid === 0 ? "any" : tid;
}

/** A thread id for a reply: hex, at least two digits (QEMU's and gdbserver's form). */
export function formatThreadId(tid: number): string {
  return tid.toString(16).padStart(2, "0");
}
