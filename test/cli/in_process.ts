// `nvlab ARGS` run in this process (cli/main.ts's program()), output captured: the CLI tests that
// run many commands spare a Node start-up each, and still go through option parsing, the exit
// status and the error reporting the real command uses.

import { CommanderError, type Command } from "commander";
import { program, reportError } from "../../cli/main.ts";

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Commander's own exits become statuses and its output is captured, for the whole command tree. */
function quiet(c: Command, out: { stdout: string; stderr: string }): void {
  c.exitOverride();
  c.configureOutput({ writeOut: (t) => (out.stdout += t), writeErr: (t) => (out.stderr += t) });
  c.commands.forEach((sub) => quiet(sub, out));
}

/** Run `nvlab ...args` in-process. Not reentrant: it borrows process.stdout/stderr and exitCode. */
export async function nvlabInProcess(...args: string[]): Promise<CliResult> {
  const cmd = program();
  const captured = { stdout: "", stderr: "" };
  quiet(cmd, captured);
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((t: string | Uint8Array) => ((captured.stdout += String(t)), true));
  process.stderr.write = ((t: string | Uint8Array) => ((captured.stderr += String(t)), true));
  process.exitCode = undefined;
  let status: number;
  try {
    await cmd.parseAsync(["node", "nvlab", ...args]);
    status = Number(process.exitCode ?? 0);
  } catch (e) {
    status = e instanceof CommanderError ? e.exitCode : reportError(e);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
  return { status, ...captured };
}
