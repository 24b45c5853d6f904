// The snapshot options of `nvlab run`: `--snapshot-at STEP --save FILE` (stop at STEP, write FILE,
// finish the run) or `--restore FILE` (rebuild the run FILE records). Checked against each other
// and against the rest of the command line before anything runs.

import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "./errors.ts";
import { parseNumber } from "./parse.ts";
import { readSnapshotFile, type SnapshotDoc } from "./snapshot_file.ts";

export interface SnapshotFlags {
  snapshotAt?: string;
  save?: string;
  restore?: string;
}

export type SavePlan = { kind: "save"; step: number; file: string };
export type RestorePlan = { kind: "restore"; file: string; doc: SnapshotDoc };
export type SnapshotPlan = SavePlan | RestorePlan;

/** Options `--restore` takes: they change what is printed, not what runs. */
const RESTORE_COMPATIBLE = new Set(["restore", "json", "trace", "qemu", "qemuTimeout"]);

/** `--snapshot-at`: an instruction count from 0 (0: before the first instruction). */
export function parseStep(text: string): number {
  let v: bigint;
  try {
    v = parseNumber(text, "--snapshot-at");
  } catch {
    throw new UsageError(`--snapshot-at: '${text}' is not an instruction count (a whole number from 0: decimal or 0x-hex, optional K/M/G suffix)`);
  }
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`--snapshot-at: ${text} is out of range`);
  return Number(v);
}

/** A file the run will write: checked before a long run, not after. */
function checkWritable(file: string): void {
  const path = resolve(file);
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    // Not there yet: it will be created.
  }
  if (dir) throw new UsageError(`--save: ${file} is a directory`);
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    throw new UsageError(`--save: cannot write ${file}: ${dirname(path)} does not exist or is not writable`);
  }
}

/** The snapshot options of `nvlab run`, checked against each other and the rest of the command line. */
export async function snapshotPlan(o: SnapshotFlags, command: Command, scenario: string | undefined): Promise<SnapshotPlan | null> {
  if (o.restore !== undefined) {
    // The file decides the run: an option that would change it is refused, not silently ignored.
    for (const opt of command.options) {
      const name = opt.attributeName();
      if (RESTORE_COMPATIBLE.has(name) || command.getOptionValueSource(name) !== "cli") continue;
      const why = name === "traceOut" || name === "traceLimit" ? "a trace file would start at step 0, not at the snapshot's step (--trace starts there)" : "the snapshot file sets the run's options";
      throw new UsageError(`run: ${opt.long} cannot be combined with --restore: ${why}`);
    }
    if (scenario !== undefined) throw new UsageError(`run: ${scenario}: a scenario file cannot be combined with --restore: the snapshot file names the scenario it runs`);
    return { kind: "restore", file: o.restore, doc: await readSnapshotFile(o.restore) };
  }
  if (o.snapshotAt === undefined && o.save === undefined) return null;
  if (o.save === undefined) throw new UsageError("--snapshot-at needs --save FILE: where to write the snapshot");
  if (o.snapshotAt === undefined) throw new UsageError("--save needs --snapshot-at STEP: the instruction count to take the snapshot at");
  const step = parseStep(o.snapshotAt);
  checkWritable(o.save);
  return { kind: "save", step, file: o.save };
}

/** The scenario file a restore runs (undefined: not a scenario's snapshot). */
export function restoredScenario(plan: SnapshotPlan | null): string | undefined {
  return plan?.kind === "restore" && plan.doc.run.kind === "scenario" ? plan.doc.run.scenario.file : undefined;
}
