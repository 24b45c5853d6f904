// `nvlab debug`: the VM of `nvlab run` (or a scenario's), stopped at L1's entry, driven by the
// command interpreter in debug/repl.ts from a terminal or from a pipe (one command per line).

import { createInterface } from "node:readline";
import { Repl } from "../debug/repl.ts";
import { DebugSession } from "../debug/session.ts";
import type { RunVmOptions } from "../lab/run.ts";
import { UsageError } from "./errors.ts";
import { finishTraceOutput, type TraceOutput } from "./trace_out.ts";

export const PROMPT = "(nvlab) ";

export interface DebugCommandOptions {
  vm: RunVmOptions;
  /** Commands come from here (default stdin). */
  input?: NodeJS.ReadableStream;
  /** Everything the session prints (default stdout). */
  write?: (text: string) => void;
  /** A terminal: prompt, line editing, Ctrl-C through readline. Default: whether stdin is one. */
  tty?: boolean;
  /** Print each command read from a pipe after a prompt, so the output reads as a session. */
  echo?: boolean;
  /** `--trace-out`: written when the session ends. */
  traceOut?: TraceOutput | null;
}

/** Open the VM and run commands until `quit` or the end of the input. */
export async function debugCommand(o: DebugCommandOptions): Promise<void> {
  const write = o.write ?? ((t: string) => void process.stdout.write(t));
  const session = await DebugSession.open({ vm: o.vm });
  const loadError = session.finished;
  if (loadError?.kind === "guest-error") throw new UsageError(loadError.message);
  const repl = new Repl(session, write);
  try {
    write(`${describeStart(session)}\n`);
    await runRepl(repl, o.input ?? process.stdin, write, { tty: o.tty ?? process.stdin.isTTY === true, echo: o.echo === true });
  } finally {
    finishTraceOutput(o.traceOut ?? null);
  }
}

function describeStart(s: DebugSession): string {
  const images = s.symbols.images.map((i) => `${i.level} ${i.name}`).join(", ");
  const note = s.kvm.vcpus.length > 1 ? `\nnote: ${s.kvm.vcpus.length} vCPUs: continue runs them all (interleaved by the scheduler), step runs the one shown; locations name their vCPU` : "";
  return `nvlab debug: ${images}; stopped before the first instruction (type help)${note}\n${s.location()?.text ?? ""}`;
}

/**
 * Read commands line by line. On a terminal: prompt, and Ctrl-C stops a running `continue`. From
 * a pipe: no prompt (unless `echo`), SIGINT stops a running `continue` or ends the session.
 */
export async function runRepl(repl: Repl, input: NodeJS.ReadableStream, write: (t: string) => void, opts: { tty: boolean; echo: boolean }): Promise<void> {
  const rl = createInterface({ input, ...(opts.tty ? { output: process.stdout, terminal: true, prompt: PROMPT } : { terminal: false }) });
  const onSigint = (): void => {
    if (repl.interrupt()) return;
    if (opts.tty) {
      write("\n(type quit to leave)\n");
      rl.prompt();
    } else process.exit(130);
  };
  rl.on("SIGINT", onSigint);
  if (!opts.tty) process.on("SIGINT", onSigint);
  try {
    if (opts.tty) rl.prompt();
    for await (const line of rl) {
      if (opts.echo && !opts.tty) write(`${PROMPT}${line}\n`);
      if (!(await repl.execute(line))) break;
      if (opts.tty) rl.prompt();
    }
  } finally {
    if (!opts.tty) process.off("SIGINT", onSigint);
    rl.close();
  }
}
