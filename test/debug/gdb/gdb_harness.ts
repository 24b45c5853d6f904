// Driving the real gdb-multiarch (Debian's, as CI installs it) in batch mode against
// `nvlab gdbserver` on a debug session: serve a session, run gdb with a list of commands, check
// what it printed. Shared by the gdb_multiarch*.test.ts files.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { GdbServer } from "../../../debug/gdb/server.ts";
import type { DebugSession } from "../../../debug/session.ts";
import { startGdbServer } from "../../../cli/gdbserver.ts";

export const GDB = "gdb-multiarch";
export const hasGdb = spawnSync(GDB, ["--version"], { stdio: "ignore" }).status === 0;
// CI installs it (.ci/run): missing there is a broken setup, not a reason to skip.
if (!hasGdb && process.env.CI === "true") throw new Error(`${GDB} not found and CI=true: the gdb stub's tests must run in CI (.ci/run installs gdb-multiarch)`);

/** A describe title that says why its tests are skipped when gdb-multiarch is missing. */
export function gdbTitle(title: string): string {
  return hasGdb ? title : `${title} (SKIPPED: ${GDB} is not installed; apt-get install gdb-multiarch)`;
}

export const dir = mkdtempSync(join(tmpdir(), "nvlab-gdb-"));

let server: GdbServer | null = null;
const children: ChildProcess[] = [];

/** For afterEach: kill the gdbs still running, close the server. */
export async function cleanup(): Promise<void> {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  await server?.close();
  server = null;
}

export interface Served {
  server: GdbServer;
  session: DebugSession;
  /** The symbol file gdb loads. */
  elf: string;
  logs: string[];
}

/** Serve `session` (not run yet) on a free port, with a symbol file of its images. */
export async function serveSession(session: DebugSession): Promise<Served> {
  const elf = join(dir, `${Math.random().toString(36).slice(2)}.elf`);
  const logs: string[] = [];
  server = await startGdbServer({ session, port: 0, symbolFile: elf, log: (l) => logs.push(l) });
  return { server, session, elf, logs };
}

/** gdb-multiarch -batch with these commands; resolves with its exit code and all its output. */
export function gdb(
  s: Served,
  commands: string[],
  started?: (child: ChildProcess) => void,
  target: "remote" | "extended-remote" = "remote",
): Promise<{ code: number | null; out: string }> {
  const args = ["-batch", "-nx", "-ex", "set architecture aarch64", "-ex", `symbol-file ${s.elf}`, "-ex", `target ${target} 127.0.0.1:${s.server.port}`];
  for (const c of commands) args.push("-ex", c);
  const child = spawn(GDB, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  // Decoded across chunks: a pipe may split the UTF-8 of "→" between two reads.
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (out += d));
  child.stderr.on("data", (d: string) => (out += d));
  started?.(child);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

/** Each text in turn, each after the one before it, in gdb's output. */
export function expectInOrder(out: string, texts: (string | RegExp)[]): void {
  let at = 0;
  for (const t of texts) {
    const rest = out.slice(at);
    const m = typeof t === "string" ? { index: rest.indexOf(t), length: t.length } : (() => {
      const r = t.exec(rest);
      return { index: r ? r.index : -1, length: r ? r[0].length : 0 };
    })();
    expect(m.index, `not found (in order): ${String(t)}\n--- gdb printed (from there on):\n${rest}`).toBeGreaterThanOrEqual(0);
    at += m.index + m.length;
  }
}

/**
 * gdb's output without these lines of `monitor` output. gdb writes a monitor command's output
 * (like its errors) apart from its other output, and it can land in the middle of a later line
 * of that: take it out before looking at the rest in order.
 */
export function withoutMonitorLines(out: string, lines: readonly string[]): string {
  let rest = out;
  for (const line of lines) rest = rest.split(line + "\n").join("");
  return rest;
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
