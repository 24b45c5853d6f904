// What a snapshot file records of a run, both ways: the run's options as the file holds them (and
// back), and the hashes of what it loads, which a restore checks before replaying anything.

import { isAbsolute, relative } from "node:path";
import type { Image } from "../asm/image.ts";
import type { Engine } from "../emulator/engine.ts";
import type { RunVmOptions } from "../lab/run.ts";
import type { ScenarioOverrides } from "../lab/scenario/run.ts";
import { UsageError } from "./errors.ts";
import type { RunCommandOptions } from "./run.ts";
import { type FileHashSpec, imageSha256, type ImagesRunSpec, readRunFile, sha256, type SnapshotTuning } from "./snapshot_file.ts";
import type { RestorePlan } from "./snapshot_plan.ts";

/** An image's name as a user would type it from here: a scenario's images are resolved to absolute paths. */
function displayName(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? file : rel;
}

export function imageHashes(vm: RunVmOptions): FileHashSpec[] {
  const images: Image[] = [vm.l1, ...(vm.l2 ?? []).map((l) => l.image)];
  return images.map((i) => ({ file: displayName(i.file), sha256: imageSha256(i) }));
}

/** The options over the defaults that decide a run, as the file records them. */
export function tuningSpec(o: ScenarioOverrides & { engine: Engine }): SnapshotTuning {
  return {
    ...(o.unmap === undefined ? {} : { unmap: o.unmap }),
    ...(o.directMap === undefined ? {} : { directMap: o.directMap }),
    ...(o.revmapTlbi === undefined ? {} : { revmapTlbi: o.revmapTlbi }),
    ...(o.nestedMmus === undefined ? {} : { nestedMmus: o.nestedMmus }),
    ...(o.chaos === undefined ? {} : { chaos: { seed: o.chaos.seed, ...(o.chaos.rate === undefined ? {} : { rate: o.chaos.rate }) } }),
    ...(o.schedule === undefined ? {} : { schedule: { ...(o.schedule.policy === undefined ? {} : { policy: o.schedule.policy }), ...(o.schedule.quantum === undefined ? {} : { quantum: o.schedule.quantum }) } }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.coalesce === undefined ? {} : { coalesce: o.coalesce }),
    ...(o.coalesceCost === undefined ? {} : { coalesceCost: o.coalesceCost }),
    engine: o.engine,
  };
}

/** `nvlab run --l1 …` as the file records it. */
export function imagesRunSpec(o: RunCommandOptions & { engine: Engine }, stdin: string | undefined): ImagesRunSpec {
  const sh = o.semihosting;
  return {
    kind: "images",
    l1: { file: o.l1.file, ipa: o.l1.ipa },
    l2: o.l2.map((s) => ({ file: s.file, ipa: s.ipa ?? 0n })),
    format: o.format ?? "auto",
    memory: o.memory,
    vcpus: o.vcpus,
    maxSteps: o.maxSteps,
    ...(o.poolPages === undefined ? {} : { poolPages: o.poolPages }),
    ...(o.check ? { check: true } : {}),
    ...tuningSpec(o),
    ...(sh === undefined
      ? {}
      : {
          semihosting: {
            root: sh.root,
            ...(sh.args === undefined ? {} : { args: sh.args }),
            ...(stdin === undefined || sh.input === undefined ? {} : { stdin: { file: stdin, sha256: sha256(sh.input) } }),
          },
        }),
  };
}

/** The run options a `kind: images` file records (without the output's callbacks). */
export function restoredRunOptions(plan: RestorePlan): RunCommandOptions {
  const r = plan.doc.run;
  if (r.kind !== "images") throw new Error("restoredRunOptions: a scenario's snapshot");
  const stdin = r.semihosting?.stdin;
  const input = stdin === undefined ? undefined : readRunFile(stdin.file, plan.file, "its --semihosting-stdin");
  if (stdin !== undefined && input !== undefined) checkHash(plan.file, stdin.file, stdin.sha256, sha256(input), "changed");
  return {
    l1: r.l1,
    l2: r.l2,
    format: r.format,
    memory: r.memory,
    vcpus: r.vcpus,
    maxSteps: r.maxSteps,
    ...(r.poolPages === undefined ? {} : { poolPages: r.poolPages }),
    ...(r.check === undefined ? {} : { check: r.check }),
    ...tuningOverrides(r),
    ...(r.semihosting === undefined
      ? {}
      : { semihosting: { root: r.semihosting.root, ...(r.semihosting.args === undefined ? {} : { args: r.semihosting.args }), ...(input === undefined ? {} : { input }) } }),
  };
}

export function tuningOverrides(t: SnapshotTuning): ScenarioOverrides & { engine: Engine } {
  return {
    ...(t.unmap === undefined ? {} : { unmap: t.unmap }),
    ...(t.directMap === undefined ? {} : { directMap: t.directMap }),
    ...(t.revmapTlbi === undefined ? {} : { revmapTlbi: t.revmapTlbi }),
    ...(t.nestedMmus === undefined ? {} : { nestedMmus: t.nestedMmus }),
    ...(t.chaos === undefined ? {} : { chaos: t.chaos }),
    ...(t.schedule === undefined ? {} : { schedule: t.schedule }),
    ...(t.seed === undefined ? {} : { seed: t.seed }),
    ...(t.coalesce === undefined ? {} : { coalesce: t.coalesce }),
    ...(t.coalesceCost === undefined ? {} : { coalesceCost: t.coalesceCost }),
    engine: t.engine,
  };
}

function short(hash: string): string {
  return hash.slice(0, 16);
}

export function checkHash(snapshot: string, file: string, then: string, now: string, verb: string): void {
  if (then === now) return;
  throw new UsageError(`snapshot ${snapshot}: ${file} was ${verb} since the snapshot was taken (sha256 ${short(now)}… now, ${short(then)}… in the snapshot)`);
}

/** The images a restore loads must be the ones the snapshot was taken with, byte for byte. */
export function checkImages(plan: RestorePlan, vm: RunVmOptions): void {
  const now = imageHashes(vm);
  const then = plan.doc.images;
  if (now.length !== then.length) {
    throw new UsageError(`snapshot ${plan.file}: the run loads ${now.length} image(s), the snapshot recorded ${then.length}`);
  }
  for (let i = 0; i < now.length; i++) {
    if (now[i]!.sha256 !== then[i]!.sha256) {
      throw new UsageError(
        `snapshot ${plan.file}: ${then[i]!.file} was built differently than when the snapshot was taken (sha256 ${short(now[i]!.sha256)}… now, ${short(then[i]!.sha256)}… in the snapshot)`,
      );
    }
  }
}
