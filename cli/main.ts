// The `nvlab` command.

import { Command, Option } from "commander";
import { AsmError } from "../asm/errors.ts";
import { EXEC_DEFAULT_BASE, execExitCode, execProgram, execText } from "./exec.ts";
import { UsageError, hex, parseCount, parseNumber } from "./errors.ts";

function program(): Command {
  const cmd = new Command("nvlab")
    .description("Emulated ARM64 nested-virtualization sandbox (FEAT_NV): CPU model, L0 hypervisor, shadow stage-2 tooling")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp({ sortSubcommands: true });

  cmd
    .command("exec")
    .description(
      "Assemble a bare program and run it at EL1 with the MMU off on flat memory, until `brk #0`, an " +
        "exception that would go to EL2, or the step budget; print the final state. A PL011 UART at " +
        "0x09000000 prints bytes stored to it.",
    )
    .argument("<prog.S>", "assembly source (see asm/README.md for the syntax)")
    .option("--base <addr>", "load address of the first section", hex(EXEC_DEFAULT_BASE))
    .option("--max-steps <n>", "instruction budget", "10000000")
    .option("--json", "print the result as JSON: {stop, regs, steps, console}")
    .option("--trace", "print each executed instruction with the registers it changed")
    .addHelpText(
      "after",
      "\nExit status: 0 stopped at brk #0; 2 step budget exhausted; 3 any other stop (exception, other brk, wfi);\n" +
        "1 error (assembly error, bad option).\n\nExample:\n  nvlab exec guests/demo/hello.S --trace",
    )
    .action(async (file: string, o: { base: string; maxSteps: string; json?: boolean; trace?: boolean }) => {
      const base = parseNumber(o.base, "--base");
      const maxSteps = parseCount(o.maxSteps, "--max-steps");
      const json = o.json === true;
      const traceLines: string[] = [];
      const r = await execProgram({
        file,
        base,
        maxSteps,
        trace: o.trace ? (l) => (json ? traceLines.push(l) : process.stdout.write(l + "\n")) : undefined,
        console: json ? undefined : (b) => process.stdout.write(String.fromCharCode(b)),
      });
      if (json) {
        const out: Record<string, unknown> = { stop: r.stop, regs: r.regs, steps: r.steps, console: r.console };
        if (o.trace) out.trace = traceLines;
        process.stdout.write(JSON.stringify(out, null, 2) + "\n");
      } else {
        if (r.console.length > 0 && !r.console.endsWith("\n")) process.stdout.write("\n");
        process.stdout.write(execText(r) + "\n");
      }
      process.exitCode = execExitCode(r.stop);
    });

  cmd.addOption(new Option("--debug", "show stack traces of internal errors").hideHelp());
  return cmd;
}

/** Print an error the way a user can act on it; stack traces only for internal errors with NVLAB_DEBUG. */
export function reportError(e: unknown): number {
  if (e instanceof AsmError) {
    process.stderr.write(e.format() + "\n");
    return 1;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`nvlab: ${e.message}\n`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === "ENOENT" && err.path) {
    process.stderr.write(`nvlab: cannot open ${err.path}: no such file\n`);
    return 1;
  }
  process.stderr.write(`nvlab: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.NVLAB_DEBUG) process.stderr.write(String(err?.stack) + "\n");
  else process.stderr.write("(set NVLAB_DEBUG=1 for a stack trace)\n");
  return 70;
}

try {
  await program().parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e);
}
