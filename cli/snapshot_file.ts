// The snapshot file of `nvlab run --snapshot-at STEP --save FILE` (docs/snapshot-format.md). An
// in-memory snapshot holds objects that live only in the process that took it, so the file holds
// what it takes to reach the same state again (the run's options, the images by path and SHA-256)
// and the proof of having reached it: the step, the state's fingerprint and the console so far.
// `--restore` replays the run to the step and refuses to go on unless the fingerprints agree.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { z } from "zod";
import { InputFileError, readInputText } from "../asm/errors.ts";
import type { Image } from "../asm/image.ts";
import { ENGINES } from "../emulator/engine.ts";
import { hex } from "../emulator/types.ts";
import { UNMAP_STRATEGIES } from "../hypervisor/unmap/registry.ts";
import { REVMAP_TLBI_MODES } from "../hypervisor/unmap/strategy.ts";
import { IMAGE_FORMATS } from "../lab/image_file.ts";
import { formatPath } from "../lab/scenario/schema.ts";
import { UsageError } from "./errors.ts";

export const SNAPSHOT_FORMAT = "nvlab-snapshot";
/** The file format's version: raised whenever a field is added, removed or changes meaning. */
export const SNAPSHOT_VERSION = 1;

/** This nvlab's version (package.json): recorded in a file, named when a file will not replay. */
export function nvlabVersion(): string {
  const pkg = createRequire(import.meta.url)("../package.json") as { version: string };
  return pkg.version;
}

/** SHA-256 of bytes, 64 hex digits. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

/**
 * SHA-256 of an image as it is loaded: for each section in order its load address and length
 * (8 bytes little-endian each) and its bytes, then the entry point. What the VM receives, whatever
 * it was built from (an assembly source with its includes, an ELF, a raw binary).
 */
export function imageSha256(image: Image): string {
  const h = createHash("sha256");
  for (const s of image.sections) {
    h.update(u64le(s.base));
    h.update(u64le(BigInt(s.bytes.length)));
    h.update(s.bytes);
  }
  h.update(u64le(image.entry));
  return h.digest("hex");
}

const str = z.string({ error: "expected a string" });
const posInt = z.custom<number>((v) => Number.isSafeInteger(v) && (v as number) > 0, { message: "expected a positive integer" });
const natInt = z.custom<number>((v) => Number.isSafeInteger(v) && (v as number) >= 0, { message: "expected a non-negative integer" });
const bool = z.boolean({ error: "expected true or false" });
/** 64-bit values (addresses, sizes) as 0x-hex strings: JSON numbers lose precision past 2^53. */
const u64 = z
  .string({ error: 'expected a 0x-hex string such as "0x48000000"' })
  .regex(/^0x[0-9a-f]{1,16}$/, { error: 'expected a 0x-hex string of at most 16 lowercase digits, such as "0x48000000"' })
  .transform((s) => BigInt(s));
const sha = z.string({ error: "expected a SHA-256 (64 hex digits)" }).regex(/^[0-9a-f]{64}$/, { error: "expected a SHA-256 (64 lowercase hex digits)" });
const oneOf = <const T extends readonly string[]>(values: T) => z.enum(values, { error: `expected one of: ${values.join(", ")}` });

/** A file the run reads, and the SHA-256 it had. */
const FileHash = z.strictObject({ file: str, sha256: sha });

/** The options over the VM's defaults (or a scenario's settings) that decide a run. */
const tuningShape = {
  unmap: oneOf(UNMAP_STRATEGIES).optional(),
  directMap: bool.optional(),
  revmapTlbi: oneOf(REVMAP_TLBI_MODES).optional(),
  nestedMmus: posInt.optional(),
  chaos: z.strictObject({ seed: natInt, rate: posInt.optional() }).optional(),
  schedule: z.strictObject({ policy: oneOf(["round-robin", "random"]).optional(), quantum: posInt.optional() }).optional(),
  seed: natInt.optional(),
  coalesce: oneOf(["bbm", "install-first"]).optional(),
  coalesceCost: natInt.optional(),
  /** Always recorded: without it the run's engine would come from the environment. */
  engine: oneOf(ENGINES),
};

/** `nvlab run --l1 … --l2 …`: the parsed command line. */
const ImagesRun = z.strictObject({
  kind: z.literal("images"),
  l1: z.strictObject({ file: str, ipa: u64.nullable() }),
  l2: z.array(z.strictObject({ file: str, ipa: u64 }), { error: "expected a list of {file, ipa}" }),
  format: oneOf(IMAGE_FORMATS),
  memory: u64,
  vcpus: posInt,
  maxSteps: posInt,
  poolPages: posInt.optional(),
  check: bool.optional(),
  ...tuningShape,
  semihosting: z.strictObject({ root: str.nullable(), args: str.optional(), stdin: FileHash.optional() }).optional(),
});

/** `nvlab run SCENARIO.yaml`: the scenario file and the command line's overrides. */
const ScenarioRun = z.strictObject({
  kind: z.literal("scenario"),
  scenario: FileHash,
  overrides: z.strictObject(tuningShape),
});

const SnapshotSchema = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  /** The nvlab that wrote it. */
  nvlab: str,
  run: z.discriminatedUnion("kind", [ImagesRun, ScenarioRun], { error: 'expected "images" or "scenario"' }),
  /** Every image the VM loads, in load order (L1 first). */
  images: z.array(FileHash, { error: "expected a list of {file, sha256}" }),
  /** Instructions retired by all vCPUs when it was taken. */
  step: natInt,
  /** fingerprintVm of the VM's state at `step`. */
  fingerprint: z.string({ error: "expected 16 hex digits" }).regex(/^[0-9a-f]{16}$/, { error: "expected 16 lowercase hex digits" }),
  /** The console output up to `step`. */
  console: z.string({ error: "expected a string" }),
});

export type SnapshotDoc = z.output<typeof SnapshotSchema>;
export type SnapshotRun = SnapshotDoc["run"];
export type ImagesRunSpec = z.output<typeof ImagesRun>;
export type ScenarioRunSpec = z.output<typeof ScenarioRun>;
export type SnapshotTuning = ScenarioRunSpec["overrides"];
export type FileHashSpec = z.output<typeof FileHash>;

/** The file as JSON text: 64-bit values as 0x-hex strings, two-space indents. */
export function snapshotJson(doc: SnapshotDoc): string {
  return JSON.stringify(doc, (_k, v: unknown) => (typeof v === "bigint" ? hex(v) : v), 2) + "\n";
}

/** Write `doc` to `path`; a failure names the file. */
export function writeSnapshotFile(path: string, doc: SnapshotDoc): void {
  try {
    writeFileSync(path, snapshotJson(doc));
  } catch (e) {
    throw new UsageError(`--save: cannot write ${path}: ${(e as Error).message}`);
  }
}

function issueText(issue: z.core.$ZodIssue, data: unknown): string {
  if (issue.code === "unrecognized_keys") {
    return `${formatPath(issue.path)}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  let node: unknown = data;
  for (const p of issue.path) node = node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[p] : undefined;
  if (node === undefined) return `${formatPath(issue.path)}: is required`;
  // Zod's own wording ("Invalid input: …") gives way to the expected type; custom messages stay.
  const text = issue.code === "invalid_type" && issue.message.startsWith("Invalid input") ? `expected ${issue.expected}` : issue.message;
  return `${formatPath(issue.path)}: ${text}`;
}

/**
 * Parse and validate a snapshot's text. The format and version are checked first: a file of
 * another version is named as such, not misread field by field.
 */
export function parseSnapshot(text: string, file: string): SnapshotDoc {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`snapshot ${file}: not a JSON file (${(e as Error).message}); a snapshot is what nvlab run --snapshot-at STEP --save FILE writes`);
  }
  const top = data !== null && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
  if (top === null || top.format !== SNAPSHOT_FORMAT) {
    const what = top === null ? `which is a JSON object with "format": "${SNAPSHOT_FORMAT}"` : `its "format" is ${JSON.stringify(top.format) ?? "missing"}, not "${SNAPSHOT_FORMAT}"`;
    throw new UsageError(`snapshot ${file}: not an nvlab snapshot (${what})`);
  }
  if (top.version !== SNAPSHOT_VERSION) {
    const by = typeof top.nvlab === "string" ? `nvlab ${top.nvlab}` : "an unknown nvlab";
    throw new UsageError(`snapshot ${file}: made by ${by} with format version ${JSON.stringify(top.version) ?? "(none)"}; this nvlab reads version ${SNAPSHOT_VERSION}`);
  }
  const r = SnapshotSchema.safeParse(data);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `  ${issueText(i, data)}`);
  throw new UsageError(`snapshot ${file}: invalid:\n${problems.join("\n")}`);
}

/** Read, parse and validate the snapshot file `path`. */
export async function readSnapshotFile(path: string): Promise<SnapshotDoc> {
  let text: string;
  try {
    text = await readInputText(path);
  } catch (e) {
    if (e instanceof InputFileError) throw new UsageError(`--restore: ${e.message}`);
    throw e;
  }
  return parseSnapshot(text, path);
}

/** The bytes of a file the run reads besides the images (a scenario, semihosting's stdin). */
export function readRunFile(path: string, snapshot: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw e;
    throw new UsageError(`snapshot ${snapshot}: ${new InputFileError(path, code).message} (${what})`);
  }
}
