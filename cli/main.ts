// The `nvlab` command.

import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { AsmError, InputFileError } from "../asm/errors.ts";
import { EXEC_DEFAULT_BASE, type ExecSemihosting, execExitCode, execProgram, execText, parseImageFormat } from "./exec.ts";
import { IMAGE_FORMATS } from "../lab/image_file.ts";
import { ImageFileError } from "../asm/image.ts";
import { hex } from "../emulator/types.ts";
import { UsageError } from "./errors.ts";
import { parseAddress, parseCount, parseNumber } from "./parse.ts";
import { type GuestReport, HostError, runningText } from "../hypervisor/errors.ts";
import { guestStatusNote, type ImageSpec, L1_DEFAULT_IPA, parseImageSpec, parseMemory, parseVcpus, runCommand, runExitCode } from "./run.ts";
import { scenarioExitCode, scenarioJson, scenarioSummary } from "./scenario.ts";
import { type PreparedScenario, prepareScenario, type ScenarioResult } from "../lab/scenario/run.ts";
import { chaosOf, formatChaosReport } from "../lab/chaos.ts";
import { ScenarioError } from "../lab/scenario/schema.ts";
import { UNMAP_STRATEGIES, type UnmapStrategyName } from "../hypervisor/unmap/registry.ts";
import { REVMAP_TLBI_MODES, type RevmapTlbi } from "../hypervisor/unmap/strategy.ts";
import type { CoalesceOrder } from "../hypervisor/coalesce.ts";
import type { SchedulePolicy } from "../hypervisor/scheduler.ts";
import { DEFAULT_TRACE_MAX_EVENTS } from "../debug/trace_event.ts";
import { finishTraceOutput, traceOutput } from "./trace_out.ts";
import { hostErrorExit, hostErrorState, vmWitness } from "./host_error_json.ts";
import { gdbserverCommand, parsePort } from "./gdbserver.ts";
import { debugCommand } from "./debug.ts";
import { DEFAULT_SNAPSHOT_BYTES, DEFAULT_SNAPSHOT_EVERY, type TimelineOptions } from "../debug/timetravel.ts";
import { BUILD_FORMATS, type BuildFormat, buildCommand } from "./build.ts";
import { addFuzzCommand } from "./fuzz.ts";
import { addLabCommand } from "./lab.ts";
import { commandEngine, engineOption, givenEngine } from "./engine.ts";
import type { Engine } from "../emulator/engine.ts";
import { runCommandVm, type RunCommandOptions } from "./run.ts";
import { compareWithQemu, comparisonJson, comparisonText, parseQemuTimeout, QEMU_DEFAULT_TIMEOUT_S, QEMU_DIFFERS_STATUS, requireQemu } from "./qemu_compare.ts";
import type { RunVmOptions } from "../lab/run.ts";
import { runCommandPlanned, runScenarioPlanned } from "./snapshot_run.ts";
import { restoredScenario, type SnapshotFlags, snapshotPlan, type SnapshotPlan } from "./snapshot_plan.ts";
import { restoredRunOptions } from "./snapshot_recipe.ts";

interface SemihostingFlags {
  semihosting?: boolean;
  semihostingRoot?: string;
  semihostingCmdline?: string;
  semihostingStdin?: string;
}

/** The semihosting options of exec and run; the root and command line need --semihosting itself. */
function semihostingOption(o: SemihostingFlags): ExecSemihosting | undefined {
  if (o.semihosting !== true) {
    if (o.semihostingRoot !== undefined || o.semihostingCmdline !== undefined || o.semihostingStdin !== undefined) {
      throw new UsageError("--semihosting-root, --semihosting-cmdline and --semihosting-stdin need --semihosting");
    }
    return undefined;
  }
  const root = o.semihostingRoot;
  if (root !== undefined && !(existsSync(root) && statSync(root).isDirectory())) {
    throw new UsageError(`--semihosting-root: ${root} is not a directory`);
  }
  const stdin = o.semihostingStdin;
  if (stdin !== undefined && !(existsSync(stdin) && statSync(stdin).isFile())) {
    throw new UsageError(`--semihosting-stdin: ${stdin} is not a file`);
  }
  return {
    root: root ?? null,
    ...(o.semihostingCmdline === undefined ? {} : { args: o.semihostingCmdline }),
    ...(stdin === undefined ? {} : { input: new Uint8Array(readFileSync(stdin)) }),
  };
}

/** The `nvlab` command line, not yet parsed (the fuzz suite parses it in-process). */
export function program(): Command {
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
    .argument("<prog>", "assembly source (.S, see asm/README.md for the syntax), ELF64 AArch64 executable (told by its content), or raw binary (.bin)")
    .option("--base <addr>", `load address of a source's first section or of a raw binary (default ${hex(EXEC_DEFAULT_BASE)}); an ELF loads at its segments' physical addresses`)
    .option("--format <fmt>", `how to read the file: ${IMAGE_FORMATS.join(", ")} (auto: ELF by its magic, raw by .bin, else assembly)`, "auto")
    .option("--max-steps <n>", "instruction budget", "10000000")
    .option("--json", "print the result as JSON: {stop, regs, steps, console}")
    .option("--trace", "print each executed instruction with the registers it changed")
    .option("--qemu", "also run the program on qemu-system-aarch64 (virt, EL1, no EL2) and compare the consoles (with --semihosting: QEMU's too, same command line, --semihosting-root as its directory, and the exit code)")
    .option("--qemu-timeout <seconds>", "longest QEMU run with --qemu", String(QEMU_DEFAULT_TIMEOUT_S))
    .option("--semihosting", "serve Arm semihosting calls (hlt #0xf000) at EL1, as QEMU's -semihosting; without it HLT is UNDEFINED")
    .option("--semihosting-root <dir>", "the only directory semihosting SYS_OPEN may open files in (default: none, only \":tt\")")
    .option("--semihosting-cmdline <args>", "arguments SYS_GET_CMDLINE returns after the program's name")
    .option("--semihosting-stdin <file>", "what reads from \":tt\" return (default: end of file at once)")
    .addOption(engineOption())
    .addHelpText(
      "after",
      "\nExit status: 0 stopped at brk #0; 2 step budget exhausted; 3 any other stop (exception, other brk, wfi);\n" +
        "a semihosting SYS_EXIT code when it is 0-127 and not 1, 2, 3 or one of run's statuses (else 123);\n" +
        `${QEMU_DIFFERS_STATUS.exec} with --qemu, the console differs from QEMU's (a unified diff is printed);\n` +
        "1 error (assembly error, bad option, --qemu without qemu-system-aarch64); 70 internal error.\n\nExample:\n  nvlab exec guests/demo/hello.S --trace",
    )
    .action(async (file: string, o: { base?: string; format: string; maxSteps: string; json?: boolean; trace?: boolean; qemu?: boolean; qemuTimeout: string; engine?: Engine } & SemihostingFlags) => {
      const base = o.base === undefined ? undefined : parseAddress(o.base, "--base", 4n, "the program starts with an instruction, and instructions are 4-byte aligned");
      const format = parseImageFormat(o.format);
      const semihosting = semihostingOption(o);
      const maxSteps = parseCount(o.maxSteps, "--max-steps");
      const json = o.json === true;
      const qemuTimeout = parseQemuTimeout(o.qemuTimeout);
      const engine = commandEngine(o.engine);
      if (o.qemu) requireQemu();
      if (o.qemu && semihosting?.input !== undefined) throw new UsageError(QEMU_STDIN_REFUSAL);
      const traceLines: string[] = [];
      const r = await execProgram({
        file,
        ...(base === undefined ? {} : { base }),
        format,
        maxSteps,
        trace: o.trace ? (l) => (json ? traceLines.push(l) : process.stdout.write(l + "\n")) : undefined,
        console: json ? undefined : (b) => process.stdout.write(String.fromCharCode(b)),
        ...(semihosting === undefined ? {} : { semihosting }),
        engine,
      });
      const qemu = o.qemu
        ? await compareWithQemu({
            first: r.image, others: [], memory: EXEC_QEMU_MEMORY, vcpus: 1, machine: "el1", nvlabConsole: r.console, timeoutMs: qemuTimeout,
            ...(semihosting === undefined ? {} : { semihosting: qemuSemihosting(file, semihosting) }),
            ...(r.stop.kind === "semihosting-exit" ? { exitCode: { nvlab: Number(r.stop.code), known: true } } : {}),
          })
        : null;
      if (json) {
        const out: Record<string, unknown> = { stop: r.stop, regs: r.regs, steps: r.steps, console: r.console, engine: r.cpu.engine };
        if (o.trace) out.trace = traceLines;
        if (qemu) out.qemu = comparisonJson(qemu);
        process.stdout.write(JSON.stringify(out, null, 2) + "\n");
      } else {
        if (r.console.length > 0 && !r.console.endsWith("\n")) process.stdout.write("\n");
        process.stdout.write(execText(r) + "\n");
        if (qemu) process.stdout.write(comparisonText(qemu, qemuTimeout) + "\n");
      }
      process.exitCode = qemu && !qemu.same ? QEMU_DIFFERS_STATUS.exec : execExitCode(r.stop);
    });

  addBuildCommand(cmd, "build");
  addBuildCommand(cmd, "asm");

  cmd
    .command("run")
    .description(
      "Boot an L1 guest hypervisor under nvlab's L0 (FEAT_NV: L1 runs at virtual EL2) with its L2 images, " +
        "and print the console output, the exit code and L0's metrics. With a SCENARIO.yaml instead of --l1, " +
        "run that scripted fault-injection scenario (scenarios/README.md) and check its expectations.",
    )
    .argument("[scenario.yaml]", "a scenario file (instead of --l1/--l2)")
    .option("--max-steps <n>", "instruction budget for the whole run", "50000000")
    .option("--json", "print {exit, console, metrics} as JSON (a scenario: its whole result)")
    .option("--trace", "print every exit and every L0 action on one line each")
    .option("--trace-out <file.json>", "write the run as a Chrome trace-event JSON file (open it in ui.perfetto.dev)")
    .option("--trace-limit <n>", "most events --trace-out records; the trace ends where the limit is reached", String(DEFAULT_TRACE_MAX_EVENTS))
    .option("--qemu", "also boot the images on qemu-system-aarch64 (virt,virtualization=on, -cpu max: L1 at real EL2, images at the same addresses) and compare the consoles (with --semihosting: QEMU's too, and a semihosting exit code)")
    .option("--qemu-timeout <seconds>", "longest QEMU run with --qemu", String(QEMU_DEFAULT_TIMEOUT_S))
    .option("--semihosting", "serve Arm semihosting calls (hlt #0xf000) at L1's and L2's EL1, as QEMU's -semihosting; SYS_EXIT ends the run like SYSTEM_OFF")
    .option("--semihosting-root <dir>", "the only directory semihosting SYS_OPEN may open files in (default: none, only \":tt\")")
    .option("--semihosting-cmdline <args>", "arguments SYS_GET_CMDLINE returns after the L1 image's name")
    .option("--semihosting-stdin <file>", "what reads from \":tt\" return (default: end of file at once)")
    .option("--snapshot-at <step>", "stop after STEP instructions (all vCPUs together), write a snapshot file (--save), and finish the run as usual")
    .option("--save <file>", "where --snapshot-at writes the snapshot (JSON, docs/snapshot-format.md)")
    .option("--restore <file>", "replay the run a snapshot file records to its step, check the state is the snapshot's, and run on from there (console and --trace from that step on); only --json, --trace and --qemu go with it")
    .addHelpText(
      "after",
      "\nExit status: the guest's PSCI SYSTEM_OFF code (w1) when it is 0-127 and not one of the statuses below;\n" +
        `${QEMU_DIFFERS_STATUS.run} with --qemu, the console differs from QEMU's (a unified diff is printed);\n` +
        "123 the guest's code is above 127 or is one of these statuses (the code itself is printed, and is\n" +
        "exit.code in --json); 124 step budget exhausted; 125 guest error (unhandled fault, broken page tables,\n" +
        "bad MMIO...); 126 stopped by the invariant checker; 1 usage or assembly error (also an image that\n" +
        "does not fit in L1 RAM); 70 host error (L0 out of pool pages, or an L0 bug). --json gives the status\n" +
        "as exit.status. With a scenario: 0 all its expectations hold; 2 one or more failed; 1 usage error or\n" +
        "invalid scenario; 70 host error.\n\n" +
        "Examples:\n  nvlab run --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000\n" +
        "  nvlab run --l1 guests/l1/hyp.S --l2 guests/l2/checksum.S@0x48000000 --unmap revmap --chaos 7\n" +
        "  nvlab run scenarios/revmap_polluted.yaml --unmap accel\n" +
        "  nvlab run --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000 --snapshot-at 2000 --save hello.snap\n" +
        "  nvlab run --restore hello.snap\n\n" +
        "A snapshot file records the run's options, each image's SHA-256, the step, a fingerprint of the state\n" +
        "there and the console so far. --restore refuses a file of another format version, an image or scenario\n" +
        "that changed, and a replay that does not reach the same state (docs/snapshot-format.md).",
    )
    .action(
      async (scenario: string | undefined, o: RunOptions, command: Command) => {
        const json = o.json === true;
        const plan = await snapshotPlan(o, command, scenario);
        const strategy = strategyOptions(o);
        const scenarioFile = scenario ?? restoredScenario(plan);
        if (scenarioFile !== undefined) {
          await runScenarioCommand(scenarioFile, o, strategy, command, plan);
          return;
        }
        const qemuTimeout = parseQemuTimeout(o.qemuTimeout);
        // A restore runs what its file recorded; otherwise the command line says what runs.
        const vm = plan?.kind === "restore" ? restoredRunOptions(plan) : commandLineRun(o, strategy);
        if (o.qemu) requireQemu(vm.vcpus);
        if (o.qemu && vm.semihosting?.input !== undefined) throw new UsageError(QEMU_STDIN_REFUSAL);
        const trace: string[] = [];
        const traceOut = o.traceOut === undefined ? null : traceOutput(o.traceOut, o.traceLimit);
        const witness = vmWitness(traceOut?.monitors);
        const runOptions: RunCommandOptions = {
          ...vm,
          // With --trace the console is printed after the trace so the two do not interleave.
          onConsole: json || o.trace ? undefined : (b) => process.stdout.write(String.fromCharCode(b)),
          onEvent: o.trace ? (l) => (json ? trace.push(l) : process.stdout.write(l + "\n")) : undefined,
          monitors: witness.monitors,
        };
        const r = await runCommandPlanned(runOptions, plan, o.semihostingStdin)
          .catch((e: unknown) => {
            if (json && e instanceof HostError) {
              const kvm = witness.kvm();
              writeJson({ exit: hostErrorExit(e, kvm), ...hostErrorState(kvm), ...(o.trace ? { trace } : {}) });
            }
            throw e;
          })
          .finally(() => finishTraceOutput(traceOut));
        // An image outside L1 RAM is a usage problem: nothing ran.
        if (r.outcome.kind === "guest-error" && r.outcome.stage === "load") throw new UsageError(r.outcome.report.reason);
        let status = runExitCode(r.outcome);
        const qemu = o.qemu ? await runOnQemuToo(runOptions, r.console, qemuTimeout, r.outcome.kind === "system-off" ? r.outcome.code : undefined) : null;
        if (qemu && !qemu.same) status = QEMU_DIFFERS_STATUS.run;
        const exitJson = { ...r.outcome, steps: r.steps, status };
        const chaos = chaosOf(r.kvm)?.report();
        if (json) {
          const out: Record<string, unknown> = { exit: exitJson, console: r.console, metrics: r.metrics, engine: r.kvm.vcpus[0]!.cpu.engine };
          if (chaos) out.chaos = chaos;
          if (o.trace) out.trace = trace;
          if (qemu) out.qemu = comparisonJson(qemu);
          if (r.restoredAt !== null) out.restoredAt = r.restoredAt;
          writeJson(out);
        } else {
          if (o.trace) process.stdout.write("console:\n" + r.liveConsole);
          if (r.liveConsole.length > 0 && !r.liveConsole.endsWith("\n")) process.stdout.write("\n");
          process.stdout.write(runSummary(r) + "\n");
          if (chaos) process.stdout.write(formatChaosReport(chaos) + "\n");
          if (qemu) process.stdout.write(comparisonText(qemu, qemuTimeout) + "\n");
        }
        process.exitCode = status;
      },
    );

  cmd
    .command("gdbserver")
    .description(
      "Build the VM of `nvlab run` (or a scenario's), stop it at L1's entry and serve it to gdb-multiarch over the " +
        "GDB remote protocol on 127.0.0.1. gdb's registers and memory are those of the level that runs (L1 or L2); " +
        "`monitor help` lists nvlab's own commands (pt, mmus, metrics, level, L0-side breakpoints).",
    )
    .argument("[scenario.yaml]", "a scenario file (instead of --l1/--l2)")
    .option("--port <n>", "TCP port on 127.0.0.1; 0 picks a free one", "1234")
    .option("--symbol-file <out.elf>", "write an ELF file with the guests' code and labels where they run, for gdb's symbol-file")
    .option("--max-steps <n>", "stop a continue after N instructions (default: no limit; Ctrl-C in gdb stops the guest)")
    .addHelpText(
      "after",
      "\nOne gdb at a time; when it disconnects (detach, quit, or mid-continue) the guest stays where it stopped\n" +
        "and the server waits for the next one. gdb's `kill` ends the server (exit status 0).\n\n" +
        "Example:\n  nvlab gdbserver --port 1234 --symbol-file hello.elf --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000\n" +
        "  gdb-multiarch -ex 'set architecture aarch64' -ex 'symbol-file hello.elf' -ex 'target remote 127.0.0.1:1234'",
    )
    .action(async (scenario: string | undefined, o: GdbserverOptions, command: Command) => {
      const port = parsePort(o.port);
      const vm = await debugVm("gdbserver", scenario, o, command);
      await gdbserverCommand({
        vm,
        port,
        ...(o.symbolFile ? { symbolFile: o.symbolFile } : {}),
        ...(o.maxSteps ? { maxSteps: parseCount(o.maxSteps, "--max-steps") } : {}),
        timeline: timelineOptions(o),
      });
    });

  cmd
    .command("debug")
    .description(
      "Build the VM of `nvlab run` (or a scenario's, with its timeline, checker and chaos), stop it at L1's entry and " +
        "read debugger commands: step, next, continue, breakpoints on addresses, symbols, exits and L0 events, regs, x, " +
        "disas, pt, mmus, revmap, accel, metrics, inject (type help). Commands come from the terminal or a pipe.",
    )
    .argument("[scenario.yaml]", "a scenario file (instead of --l1/--l2)")
    .option("--max-steps <n>", "most instructions one continue runs (default 100000000)")
    .option("--trace", "print every exit and every L0 action on one line each, as they happen")
    .option("--trace-out <file.json>", "write what ran as a Chrome trace-event JSON file when the session ends (ui.perfetto.dev)")
    .option("--trace-limit <n>", "most events --trace-out records", String(DEFAULT_TRACE_MAX_EVENTS))
    .option("--echo", "print each command read from a pipe after the prompt (a readable transcript)")
    .addHelpText(
      "after",
      "\nExamples:\n  nvlab debug --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000\n" +
        "  printf 'break hello.S:l2_entry\\ncontinue\\nregs\\n' | nvlab debug --l1 guests/l1/hyp.S --l2 guests/l2/hello.S@0x48000000\n" +
        "  nvlab debug scenarios/revmap_stale.yaml",
    )
    .action(async (scenario: string | undefined, o: DebugCommandLineOptions, command: Command) => {
      const traceOut = o.traceOut === undefined ? null : traceOutput(o.traceOut, o.traceLimit);
      const { vm, prepared } = await debugTarget("debug", scenario, o, command);
      const base = vm.monitors;
      vm.monitors = (kvm) => [...(base?.(kvm) ?? []), ...(traceOut?.monitors(kvm) ?? [])];
      vm.maxSteps = o.maxSteps === undefined ? undefined : parseCount(o.maxSteps, "--max-steps");
      if (o.trace) vm.onEvent = (l) => process.stdout.write(l + "\n");
      process.exitCode = await debugCommand({ vm, echo: o.echo === true, traceOut, timeline: timelineOptions(o), ...(prepared ? { scenario: prepared } : {}) });
    });

  const vcpusHelp: Record<string, string> = {
    run: "number of vCPUs",
    debug: "number of vCPUs (continue runs all; step runs the one shown)",
    gdbserver: "number of vCPUs (gdb sees the one that stopped)",
  };
  for (const [name, help] of Object.entries(vcpusHelp)) {
    const sub = cmd.commands.find((c) => c.name() === name);
    if (sub) addVmOptions(sub, help);
    if (sub && name !== "run") addTimelineOptions(sub);
  }
  addFuzzCommand(cmd);
  addLabCommand(cmd);
  cmd.addOption(new Option("--debug", "show stack traces of internal errors").hideHelp());
  return cmd;
}

/** QEMU RAM for `exec --qemu`: exec's flat memory has no size, and QEMU only backs the pages touched. */
const EXEC_QEMU_MEMORY = 1n << 30n;

/**
 * `run --qemu`: the images nvlab ran, at the same addresses, on QEMU with L1 at real EL2. A
 * semihosting exit's code is QEMU's exit status; PSCI SYSTEM_OFF's code is nvlab's alone.
 */
async function runOnQemuToo(o: RunCommandOptions, nvlabConsole: string, timeoutMs: number, code: number | undefined) {
  const vm = await runCommandVm(o);
  return compareWithQemu({
    first: vm.l1, others: (vm.l2 ?? []).map((l) => l.image), memory: o.memory, vcpus: o.vcpus, machine: "el2", nvlabConsole, timeoutMs,
    ...(o.semihosting === undefined ? {} : { semihosting: qemuSemihosting(o.l1.file, o.semihosting) }),
    ...(o.semihosting === undefined || code === undefined ? {} : { exitCode: { nvlab: code, known: false } }),
  });
}

/** QEMU's semihosting: the command line nvlab's SYS_GET_CMDLINE returns (image name, then the arguments), the same root. */
function qemuSemihosting(file: string, s: ExecSemihosting): { args: string[]; root: string | null } {
  return { args: [file, ...(s.args === undefined || s.args === "" ? [] : [s.args])], root: s.root };
}

const QEMU_STDIN_REFUSAL = "--qemu: --semihosting-stdin is not passed to QEMU (its semihosting console reads the terminal); leave one of them out";

interface RunOptions extends TuningOptions, SemihostingFlags, SnapshotFlags {
  qemu?: boolean; qemuTimeout: string;
  l1?: string; l2: string[]; format: string; memory: string; vcpus: string; maxSteps: string; poolPages?: string; json?: boolean; trace?: boolean;
  unmap?: UnmapStrategyName; directMap?: boolean; revmapTlbi?: RevmapTlbi; nestedMmus?: string; check?: boolean; chaos?: string; chaosRate: string;
  traceOut?: string; traceLimit: string; engine?: Engine;
}

interface TuningOptions {
  schedule?: SchedulePolicy; quantum?: string; seed?: string; coalesce?: CoalesceOrder; coalesceCost?: string;
}

/**
 * `nvlab build` writes an ELF unless told otherwise; `nvlab asm`, its older name, keeps writing a raw
 * binary by default (guests/README.md's QEMU recipe).
 */
function addBuildCommand(cmd: Command, name: "build" | "asm"): void {
  const fallback: BuildFormat = name === "build" ? "elf" : "raw";
  cmd
    .command(name)
    .description(
      name === "build"
        ? "Assemble a guest source into an ELF64 AArch64 executable (sections as PT_LOAD segments at their load addresses, " +
            "entry point, labels as symbols) or one raw binary (sections from the lowest, gaps zero-filled), for QEMU or " +
            "hardware, and print the QEMU -device loader arguments that load it."
        : "The same as `nvlab build --format raw` unless -o names an .elf file (kept for existing scripts).",
    )
    .argument("<file.S>", "assembly source (see asm/README.md for the syntax)")
    .option("-o, --out <file>", `output file: .elf → ELF, .bin → raw (default: the source's name with .${fallback === "elf" ? "elf" : "bin"}, in the current directory)`)
    .addOption(new Option("--format <format>", "output format, whatever -o's extension").choices(BUILD_FORMATS))
    .option("--base <addr>", "load address of the first section (L1: 0x40100000; L2 #n: 0x48000000 + n × 16M)", hex(L1_DEFAULT_IPA))
    .addHelpText(
      "after",
      "\nExit status: 0 written; 1 assembly error, unwritable output or bad option; 70 internal error.\n\n" +
        `Example:\n  nvlab ${name} guests/l1/hyp.S -o hyp.${fallback === "elf" ? "elf" : "bin"}\n  nvlab ${name} guests/l2/hello.S --base 0x48000000 -o hello.bin`,
    )
    .action(async (file: string, o: { out?: string; base: string; format?: BuildFormat }) => {
      const base = parseAddress(o.base, "--base", 4n, "an image starts with an instruction, and instructions are 4-byte aligned");
      const r = await buildCommand({ file, base, fallback, anyExtension: name === "asm", ...(o.out === undefined ? {} : { out: o.out }), ...(o.format === undefined ? {} : { format: o.format }) });
      process.stdout.write(r.text + "\n");
    });
}

/** The VM options every command that builds a VM takes: images, size, strategy, checker, chaos, tuning. */
function addVmOptions(c: Command, vcpusHelp: string): void {
  c.option("--l1 <file[@ipa]>", "L1 image: .S source or raw .bin, loaded at canonical IPA 0x40100000 unless @IPA is given; an ELF executable at its own physical addresses unless @IPA moves it")
    .option("--l2 <file@ipa>", "an L2 image (.S, ELF executable moved as a whole, raw .bin) and the canonical IPA of its lowest byte (repeatable)", collect, [] as string[])
    .option("--format <fmt>", `how every --l1/--l2 file is read: ${IMAGE_FORMATS.join(", ")} (auto: ELF by its magic, raw by .bin, else assembly)`, "auto")
    .option("--memory <size>", "L1 RAM at canonical IPA 0x40000000", "256M")
    .option("--vcpus <n>", vcpusHelp, "1")
    .option("--pool-pages <n>", "L0's host page pool in 4K pages (default: all of L1's RAM plus tables)")
    .addOption(new Option("--unmap <strategy>", "canonical-unmap strategy (overrides a scenario's)").choices(UNMAP_STRATEGIES))
    .option("--direct-map", "keep a nested IPA -> canonical IPA map beside each revmap (L1's TLBIs keep it exact; implies --revmap-tlbi v3)")
    .addOption(new Option("--revmap-tlbi <mode>", "what L1's TLBIs do to the revmap/accelerator: seed = nothing (seeds 000/001), v3 = remove the entries of the leaves they remove (default: v3 with --direct-map, else seed)").choices(REVMAP_TLBI_MODES))
    .option("--nested-mmus <n>", "number of shadow stage-2 MMUs (default 2 per vCPU)")
    .option("--check", "run the invariant checker after every L0 action (always on for scenarios and --chaos)")
    .option("--chaos <seed>", "inject canonical unmaps (aimed mostly at pages shadow MMUs map), revmap allocation failures and MMU recycles at random exits chosen from SEED; a report at the end says how many unmaps hit")
    .option("--chaos-rate <n>", "mean number of exits between two chaos injections", "50")
    .addOption(engineOption());
  addTuningOptions(c);
}

/** Scheduler, seed and coalescing options. */
function addTuningOptions(c: Command): void {
  c.addOption(new Option("--schedule <policy>", "how vCPUs interleave: fixed slices in turn, or slice lengths drawn from the seed (default round-robin)").choices(["round-robin", "random"]))
    .option("--quantum <n>", "instructions per slice (random: the mean slice length) (default 1000)")
    .option("--seed <n>", "the VM's seed (random slices) (default 0)")
    .addOption(new Option("--coalesce <order>", "block coalescing order for split/coalesce injections (default bbm)").choices(["bbm", "install-first"]))
    .option("--coalesce-cost <n>", "scheduler ticks per page mapping a coalescing frees (default 1)");
}

function tuningOptions(o: TuningOptions) {
  const quantum = o.quantum === undefined ? undefined : parseCount(o.quantum, "--quantum");
  return {
    ...(o.schedule === undefined && quantum === undefined ? {} : { schedule: { ...(o.schedule === undefined ? {} : { policy: o.schedule }), ...(quantum === undefined ? {} : { quantum }) } }),
    ...(o.seed === undefined ? {} : { seed: Number(BigInt.asUintN(32, parseNumber(o.seed, "--seed"))) }),
    ...(o.coalesce === undefined ? {} : { coalesce: o.coalesce }),
    ...(o.coalesceCost === undefined ? {} : { coalesceCost: parseNatural(o.coalesceCost, "--coalesce-cost") }),
  };
}

function parseNatural(text: string, what: string): number {
  const v = parseNumber(text, what);
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${what}: ${text} is not a non-negative integer`);
  return Number(v);
}

/** The strategy, checker, chaos and tuning options shared by plain and scenario runs. */
function strategyOptions(o: Pick<RunOptions, "unmap" | "directMap" | "revmapTlbi" | "nestedMmus" | "check" | "chaos" | "chaosRate" | "engine" | keyof TuningOptions>) {
  const engine = givenEngine(o.engine);
  return {
    ...tuningOptions(o),
    // Only an engine given here overrides a scenario's vm.engine; otherwise the CPU's default applies.
    ...(engine === undefined ? {} : { engine }),
    ...(o.unmap === undefined ? {} : { unmap: o.unmap }),
    ...(o.directMap ? { directMap: true } : {}),
    ...(o.revmapTlbi === undefined ? {} : { revmapTlbi: o.revmapTlbi }),
    ...(o.nestedMmus === undefined ? {} : { nestedMmus: parseCount(o.nestedMmus, "--nested-mmus") }),
    ...(o.check ? { check: true } : {}),
    ...(o.chaos === undefined
      ? {}
      : { chaos: { seed: Number(BigInt.asUintN(32, parseNumber(o.chaos, "--chaos"))), rate: parseCount(o.chaosRate, "--chaos-rate") } }),
  };
}

/** The run `nvlab run --l1 … --l2 …` describes (without the output's callbacks). */
function commandLineRun(o: RunOptions, strategy: ReturnType<typeof strategyOptions>): RunCommandOptions {
  if (o.l1 === undefined) throw new UsageError("run: give an L1 (--l1 FILE.S) or a scenario file (nvlab run SCENARIO.yaml)");
  const vcpus = parseVcpus(o.vcpus);
  if (strategy.nestedMmus !== undefined && strategy.nestedMmus < vcpus) {
    throw new UsageError(`--nested-mmus: ${strategy.nestedMmus} is fewer than the ${vcpus} vCPUs (each vCPU holds one shadow MMU)`);
  }
  const l2: ImageSpec[] = o.l2.map((s) => parseImageSpec(s, "--l2", true));
  const semihosting = semihostingOption(o);
  return {
    ...strategy,
    l1: parseImageSpec(o.l1, "--l1", false),
    l2,
    format: parseImageFormat(o.format),
    memory: parseMemory(o.memory),
    vcpus,
    maxSteps: parseCount(o.maxSteps, "--max-steps"),
    poolPages: o.poolPages === undefined ? undefined : parseCount(o.poolPages, "--pool-pages"),
    ...(semihosting === undefined ? {} : { semihosting }),
  };
}

/** `nvlab run SCENARIO.yaml`: the summary (or --json), exit status 0 iff every expectation holds (scenarioExitCode). */
async function runScenarioCommand(file: string, o: RunOptions, strategy: ReturnType<typeof strategyOptions>, command: Command, plan: SnapshotPlan | null): Promise<void> {
  // `nvlab run hyp.S` (without --l1) would otherwise be read as YAML and fail on the assembly's syntax.
  if (/\.s$/i.test(file)) {
    throw new UsageError(`run: ${file} is an assembly source, not a scenario file: give it as --l1 ${file} (and each L2 as --l2 FILE.S@IPA)`);
  }
  // The scenario file describes the VM; only strategy, checker and chaos options may change it.
  for (const opt of ["l1", "memory", "vcpus", "maxSteps", "poolPages", "format"] as const) {
    if (command.getOptionValueSource(opt) === "cli") throw new UsageError(`run: --${opt.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} cannot be combined with a scenario file (set it in the scenario)`);
  }
  if (o.l2.length > 0) throw new UsageError("run: --l2 cannot be combined with a scenario file (list L2 images under images.l2)");
  if (o.qemu) throw new UsageError("run: --qemu takes --l1/--l2 images, not a scenario file (a scenario's injections have no QEMU counterpart)");
  const json = o.json === true;
  const trace: string[] = [];
  const traceOut = o.traceOut === undefined ? null : traceOutput(o.traceOut, o.traceLimit);
  const witness = vmWitness(traceOut?.monitors);
  const r = await runScenarioPlanned(file, {
    ...strategy,
    onEvent: o.trace ? (l) => (json ? trace.push(l) : process.stdout.write(l + "\n")) : undefined,
    monitors: witness.monitors,
  }, plan)
    .catch((e: unknown) => {
      if (e instanceof HostError) SCENARIO_HOST_ERRORS.add(e);
      if (json && e instanceof HostError) {
        const kvm = witness.kvm();
        const { status, ...outcome } = hostErrorExit(e, kvm);
        writeJson({ file, ok: false, status, outcome, steps: outcome.steps, ...hostErrorState(kvm), ...(o.trace ? { trace } : {}) });
      }
      throw e;
    })
    .finally(() => finishTraceOutput(traceOut));
  const status = scenarioExitCode(r);
  if (json) {
    const { restoredAt, liveConsole: _live, ...result } = r;
    const out: Record<string, unknown> = { ...result, status };
    if (o.trace) out.trace = trace;
    if (restoredAt !== null) out.restoredAt = restoredAt;
    process.stdout.write(scenarioJson(out as unknown as ScenarioResult) + "\n");
  } else {
    const shown = r.liveConsole;
    if (o.trace) process.stdout.write("console:\n" + shown + (shown.endsWith("\n") || shown === "" ? "" : "\n"));
    process.stdout.write(scenarioSummary(r) + "\n");
  }
  process.exitCode = status;
}

/** The VM options `debug` and `gdbserver` share. */
type VmCommandOptions = Omit<GdbserverOptions, "port" | "symbolFile">;

/** The automatic snapshots behind reverse execution in `debug` and `gdbserver`. */
function addTimelineOptions(sub: Command): void {
  sub.option("--snapshot-every <n>", "take an automatic snapshot every N instructions: reverse-step and goto replay at most N", String(DEFAULT_SNAPSHOT_EVERY));
  sub.option("--snapshot-memory <MiB>", "memory the automatic snapshots may hold before older ones are thinned out", String(DEFAULT_SNAPSHOT_BYTES >> 20));
}

function timelineOptions(o: { snapshotEvery: string; snapshotMemory: string }): TimelineOptions {
  return { every: parseCount(o.snapshotEvery, "--snapshot-every"), maxBytes: parseCount(o.snapshotMemory, "--snapshot-memory") * (1 << 20) };
}

interface DebugCommandLineOptions extends VmCommandOptions {
  trace?: boolean; traceOut?: string; traceLimit: string; echo?: boolean;
}

interface GdbserverOptions extends Omit<RunOptions, "maxSteps" | "chaosRate" | "traceLimit" | "qemu" | "qemuTimeout"> {
  port: string; symbolFile?: string; maxSteps?: string; chaosRate: string; snapshotEvery: string; snapshotMemory: string;
}

/** The VM a debugging command opens: a scenario's, or the one --l1/--l2 and the VM options describe. */
async function debugVm(name: string, scenario: string | undefined, o: VmCommandOptions, command: Command): Promise<RunVmOptions> {
  return (await debugTarget(name, scenario, o, command)).vm;
}

/** debugVm, with the prepared scenario (null without one) whose expectations the session can judge. */
async function debugTarget(name: string, scenario: string | undefined, o: VmCommandOptions, command: Command): Promise<{ vm: RunVmOptions; prepared: PreparedScenario | null }> {
  const strategy = strategyOptions(o);
  if (scenario !== undefined) {
    for (const opt of ["l1", "memory", "vcpus", "poolPages", "format"] as const) {
      if (command.getOptionValueSource(opt) === "cli") throw new UsageError(`${name}: --${opt.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} cannot be combined with a scenario file (set it in the scenario)`);
    }
    if (o.l2.length > 0) throw new UsageError(`${name}: --l2 cannot be combined with a scenario file (list L2 images under images.l2)`);
    const prepared = await prepareScenario(scenario, strategy);
    return { vm: prepared.vm, prepared };
  }
  if (o.l1 === undefined) throw new UsageError(`${name}: give an L1 (--l1 FILE.S) or a scenario file (nvlab ${name} SCENARIO.yaml)`);
  const vcpus = parseVcpus(o.vcpus);
  if (strategy.nestedMmus !== undefined && strategy.nestedMmus < vcpus) {
    throw new UsageError(`--nested-mmus: ${strategy.nestedMmus} is fewer than the ${vcpus} vCPUs (each vCPU holds one shadow MMU)`);
  }
  const vm = await runCommandVm({
    ...strategy,
    l1: parseImageSpec(o.l1, "--l1", false),
    l2: o.l2.map((s) => parseImageSpec(s, "--l2", true)),
    format: parseImageFormat(o.format),
    memory: parseMemory(o.memory),
    vcpus,
    maxSteps: Number.MAX_SAFE_INTEGER,
    poolPages: o.poolPages === undefined ? undefined : parseCount(o.poolPages, "--pool-pages"),
  });
  return { vm, prepared: null };
}

/** One --json document on stdout, bigints as hex strings. */
function writeJson(out: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? hex(v) : v), 2) + "\n");
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The human-readable end of a run: how it ended, then L0's metrics. */
function runSummary(r: Awaited<ReturnType<typeof runCommand>>): string {
  const lines: string[] = [];
  const o = r.outcome;
  if (o.kind === "system-off") {
    lines.push(`exit: PSCI SYSTEM_OFF, code ${o.code} (${r.steps} instructions)`);
    const note = guestStatusNote(o.code);
    if (note) lines.push(`  ${note}`);
  }
  else if (o.kind === "budget") {
    lines.push(`exit: step budget exhausted after ${r.steps} instructions (raise --max-steps?)`);
    lines.push("  " + formatReport(o.report));
  }
  else if (o.kind === "monitor-stop") lines.push(`exit: stopped by ${o.verdict}: ${formatReport({ ...o.report, reason: o.message })}`);
  else lines.push(`exit: guest error: ${formatReport(o.report)}`);
  lines.push("metrics:");
  for (const [k, v] of Object.entries(flatten(r.metrics as unknown as Record<string, unknown>))) lines.push(`  ${k.padEnd(28)} ${v}`);
  return lines.join("\n");
}

function flatten(o: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = Array.isArray(v) ? `[${v.join(", ")}]` : String(v);
  }
  return out;
}

function formatReport(report: unknown): string {
  const r = report as Partial<GuestReport>;
  const lines = [r.reason ?? "unknown"];
  if (r.level) lines.push(`  running: ${runningText(r)}`);
  if (r.exit) lines.push("  last exit: " + Object.entries(r.exit).map(([k, v]) => `${k}=${v}`).join(" "));
  if (r.regs) {
    const regs = Object.entries(r.regs);
    for (let i = 0; i < regs.length; i += 4) lines.push("  " + regs.slice(i, i + 4).map(([k, v]) => `${k.padStart(4)} ${v}`).join("  "));
  }
  if (r.events?.length) lines.push("  last events:", ...r.events.map((e) => `    ${e}`));
  return lines.join("\n");
}

/** Host errors of scenario runs, whose hint names the scenario's key rather than the option. */
const SCENARIO_HOST_ERRORS = new WeakSet<HostError>();

/** Print an error the way a user can act on it; stack traces only for internal errors with NVLAB_DEBUG. */
export function reportError(e: unknown): number {
  if (e instanceof AsmError) {
    process.stderr.write(e.format() + "\n");
    return 1;
  }
  if (e instanceof UsageError || e instanceof ScenarioError || e instanceof InputFileError || e instanceof ImageFileError) {
    process.stderr.write(`nvlab: ${e.message}\n`);
    return 1;
  }
  if (e instanceof HostError) {
    // L0 itself failed (out of pool pages, or an L0 bug): say so and where the guest was.
    process.stderr.write(`nvlab: host error: ${e.message}\n`);
    // The report's first line repeats the message.
    if (e.report) process.stderr.write(formatReport(e.report).split("\n").slice(1).map((l) => l + "\n").join(""));
    if (process.env.NVLAB_DEBUG) process.stderr.write(String(e.stack) + "\n");
    else {
      // A scenario sets the pool in its file: the command line cannot.
      const pool = SCENARIO_HOST_ERRORS.has(e) ? "vm.poolPages in the scenario" : "--pool-pages";
      process.stderr.write(`(L0 ran out of resources (raise ${pool}?) or hit a bug; set NVLAB_DEBUG=1 for a stack trace)\n`);
    }
    return 70;
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

/** Run the command line `argv` (as process.argv: node, script, arguments); sets process.exitCode. */
export async function main(argv: readonly string[]): Promise<void> {
  // A closed pipe (`nvlab run --trace | head`) ends the output quietly, as other command-line tools do.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    await program().parseAsync([...argv]);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}

// Run as a script (`tsx cli/main.ts …`) as well as through cli/nvlab.js; imported, it runs nothing.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv);
