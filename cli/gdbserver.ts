// `nvlab gdbserver`: the VM of `nvlab run` (or a scenario) stopped at L1's entry, served to
// gdb-multiarch over the GDB Remote Serial Protocol on 127.0.0.1, with an optional ELF symbol
// file so gdb knows the guests' labels.

import { writeFileSync } from "node:fs";
import { symbolFileFromSession } from "../debug/gdb/symbol_file.ts";
import { GdbServer } from "../debug/gdb/server.ts";
import { SessionTarget } from "../debug/gdb/session_target.ts";
import type { TimelineOptions } from "../debug/timetravel.ts";
import { DebugSession } from "../debug/session.ts";
import type { RunVmOptions } from "../lab/run.ts";
import { UsageError } from "./errors.ts";

export interface GdbServerCommandOptions {
  /** A session that has not run yet. */
  session: DebugSession;
  /** 0: any free port. */
  port: number;
  /** Where to write the ELF symbol file for gdb. */
  symbolFile?: string;
  /** Instructions per `continue` chunk (how often Ctrl-C is looked at). */
  chunk?: number;
  /** Most instructions one `continue` runs (default: no limit, gdb's Ctrl-C stops it). */
  maxSteps?: number;
  /** Server messages (connections, protocol problems). */
  log: (line: string) => void;
}

/** How to connect, for the user. */
export function connectHint(port: number, elf?: string): string {
  const sym = elf ? ` -ex 'symbol-file ${elf}'` : "";
  return `connect with: gdb-multiarch -ex 'set architecture aarch64'${sym} -ex 'target remote 127.0.0.1:${port}'`;
}

/** Write the symbol file and listen; the caller announces the port. */
export async function startGdbServer(o: GdbServerCommandOptions): Promise<GdbServer> {
  const { session } = o;
  if (session.finished?.kind === "guest-error") throw new UsageError(session.finished.message);
  if (o.symbolFile) {
    try {
      writeFileSync(o.symbolFile, symbolFileFromSession(session, session.location()?.pc ?? 0n));
    } catch (e) {
      throw new UsageError(`--symbol-file: cannot write ${o.symbolFile}: ${(e as Error).message}`);
    }
  }
  const target = new SessionTarget(session, { maxSteps: o.maxSteps ?? Number.MAX_SAFE_INTEGER, ...(o.chunk ? { chunk: o.chunk } : {}) });
  try {
    // After SYSTEM_OFF nothing is left to debug; after a guest error the state can still be read.
    return await GdbServer.listen(target, { port: o.port, log: o.log, closeAfterClient: () => session.finished?.kind === "system-off" });
  } catch (e) {
    throw new UsageError(`--port ${o.port}: cannot listen on 127.0.0.1: ${(e as Error).message}`);
  }
}

/** `--port`: 0..65535 (0 picks a free port). */
export function parsePort(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) > 65535) throw new UsageError(`--port: '${text}' is not a TCP port (0-65535; 0 picks a free one)`);
  return Number(t);
}

/**
 * The command: open the VM stopped at L1's entry, announce the port on stdout (the guests'
 * console output follows there), log connections on stderr, and return when gdb kills the VM.
 */
export async function gdbserverCommand(o: { vm: RunVmOptions; port: number; symbolFile?: string; maxSteps?: number; timeline?: TimelineOptions }): Promise<void> {
  const session = await DebugSession.open({ vm: { ...o.vm, onConsole: (b) => process.stdout.write(String.fromCharCode(b)) }, timeline: o.timeline ?? {} });
  const server = await startGdbServer({
    session,
    port: o.port,
    ...(o.symbolFile ? { symbolFile: o.symbolFile } : {}),
    ...(o.maxSteps ? { maxSteps: o.maxSteps } : {}),
    log: (l) => process.stderr.write(`nvlab gdbserver: ${l}\n`),
  });
  process.stdout.write(`listening on 127.0.0.1:${server.port}\n${connectHint(server.port, o.symbolFile)}\n`);
  await server.closed();
}
