// `nvlab debug`: the VM of `nvlab run` (or a scenario's), stopped at L1's entry, driven by the
// command interpreter in debug/repl.ts from a terminal or from a pipe (one command per line).

import { createInterface } from "node:readline";
import { Repl } from "../debug/repl.ts";
import { DebugSession } from "../debug/session.ts";
import type { TimelineOptions } from "../debug/timetravel.ts";
import type { RunVmOptions } from "../lab/run.ts";
import { judgeScenario, type PreparedScenario } from "../lab/scenario/run.ts";
import { UsageError } from "./errors.ts";
import { expectationLines, resultLine, scenarioExitCode } from "./scenario.ts";
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
  /** Automatic snapshots for reverse execution. */
  timeline?: TimelineOptions;
  /** The scenario the VM comes from (its `vm` is `vm` above): its expectations are judged when the run ends. */
  scenario?: PreparedScenario;
}

/**
 * Open the VM and run commands until `quit` or the end of the input. The exit status: 0, or for a
 * scenario whose run ended in the session, `nvlab run`'s (2 when an expectation failed).
 */
export async function debugCommand(o: DebugCommandOptions): Promise<number> {
  const write = o.write ?? ((t: string) => void process.stdout.write(t));
  const session = await DebugSession.open({ vm: o.vm, timeline: o.timeline ?? {} });
  const loadError = session.finished;
  if (loadError?.kind === "guest-error") throw new UsageError(loadError.message);
  const repl = new Repl(session, write);
  const judge = o.scenario ? new ExpectationReport(o.scenario, session, write) : null;
  try {
    write(`${describeStart(session)}\n`);
    await runRepl(repl, o.input ?? process.stdin, write, {
      tty: o.tty ?? process.stdin.isTTY === true,
      echo: o.echo === true,
      afterCommand: () => judge?.atRunEnd(),
    });
    judge?.atSessionEnd();
  } finally {
    finishTraceOutput(o.traceOut ?? null);
  }
  return judge?.status ?? 0;
}

/**
 * A scenario's expectations in the debugger, printed as `nvlab run` prints them once the run is
 * over (SYSTEM_OFF, a guest error, a checker stop); a session that leaves earlier says they were
 * not judged, since an outcome or a final metric cannot be judged halfway.
 */
class ExpectationReport {
  status = 0;
  private judged = false;

  constructor(
    private readonly scenario: PreparedScenario,
    private readonly session: DebugSession,
    private readonly write: (text: string) => void,
  ) {}

  atRunEnd(): void {
    const outcome = this.session.finished;
    if (this.judged || !outcome) return;
    this.judged = true;
    const kvm = this.session.kvm;
    const r = judgeScenario(this.scenario, { outcome, console: kvm.console, metrics: kvm.metrics.snapshot(), steps: kvm.steps, kvm });
    const lines = [`scenario ${r.name}: expectations at the end of the run:`, ...expectationLines(r), ...r.warnings.map((w) => `warning: ${w}`), resultLine(r)];
    this.write(lines.join("\n") + "\n");
    this.status = scenarioExitCode(r);
  }

  atSessionEnd(): void {
    if (this.judged) return;
    this.write(`scenario ${this.scenario.scenario.name}: the run is not over, so its expectations were not judged (continue to the end to judge them)\n`);
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
export async function runRepl(
  repl: Repl,
  input: NodeJS.ReadableStream,
  write: (t: string) => void,
  opts: { tty: boolean; echo: boolean; afterCommand?: () => void },
): Promise<void> {
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
      const more = await repl.execute(line);
      opts.afterCommand?.();
      if (!more) break;
      if (opts.tty) rl.prompt();
    }
  } finally {
    if (!opts.tty) process.off("SIGINT", onSigint);
    rl.close();
  }
}
