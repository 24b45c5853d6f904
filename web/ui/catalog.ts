// What the page offers to boot: the shipped L1/L2 pairs (the facts of test/qemu/pairs.ts, copied
// because the page must not load test code; test/web/catalog.test.ts keeps the copy honest), the
// scenarios found among the shipped files, and which source files each of them needs.

import { parse } from "yaml";
import { dirname, join } from "../../asm/source_path.ts";
import type { LabOptions } from "../protocol.ts";

export interface ImageSpec {
  path: string;
  /** Canonical IPA of the image's lowest byte. */
  ipa: bigint;
}

export interface GuestPair {
  name: string;
  l1: string;
  l2: ImageSpec[];
  vcpus: number;
}

export type CatalogEntry = { kind: "guests"; pair: GuestPair } | { kind: "scenario"; path: string };

/** What `npm start` boots (README): the page's default. */
export const DEMO_PAIR = "hyp+hello";

/** The canonical-unmap strategies, as hypervisor/unmap/registry.ts names them (the page does not load L0). */
export const UNMAP_NAMES = ["full", "revmap", "accel", "rfc-rbtree"] as const;

/** Canonical IPA of L2 #n (guests/README.md): 16 MiB windows from 0x4800_0000. */
export function l2Ipa(n: number): bigint {
  return 0x4800_0000n + BigInt(n) * 0x100_0000n;
}

function pair(l1: string, l2: string[], vcpus = 1, name = `${l1}+${l2[0] ?? ""}`): GuestPair {
  return { name, l1: `guests/l1/${l1}.S`, l2: l2.map((g, n) => ({ path: `guests/l2/${g}.S`, ipa: l2Ipa(n) })), vcpus };
}

const MULTI_L2 = ["hello", "touch", "checksum", "hello", "touch", "checksum"];
/** The SMP L1s give vCPU n L2 #n; all four images load whatever the vCPU count. */
const SMP_L2 = ["hello", "touch", "checksum", "touch"];

export const GUEST_PAIRS: GuestPair[] = [
  pair("hyp", ["hello"]),
  pair("hyp", ["touch"]),
  pair("hyp", ["touch1000"]),
  pair("hyp", ["checksum"]),
  pair("hyp", ["uart"]),
  pair("hyp", ["wild"]),
  pair("hyp64k", ["hello"]),
  pair("hyp64k", ["touch"]),
  pair("hyp64k", ["checksum"]),
  pair("hypblock", ["touch"]),
  pair("hypblock", ["touch1000"]),
  pair("hypblock", ["checksum"]),
  pair("remap", ["remap"]),
  pair("blockmove", ["blockmove"]),
  pair("multi", MULTI_L2, 1, "multi+6"),
  ...[1, 2, 4].map((n) => pair("smp", SMP_L2, n, `smp+${n}`)),
  ...[1, 3, 4].map((n) => pair("smp_shared", ["smp_slices"], n, `smp_shared+${n}`)),
  ...[2, 4].map((n) => pair("smp_rounds", SMP_L2, n, `smp_rounds+${n}`)),
  pair("hypfp", ["fp"]),
];

/** The scenario files among `paths`: scenarios/*.yaml, not their guests' sources. */
export function scenarioPaths(paths: Iterable<string>): string[] {
  return [...paths].filter((p) => /^scenarios\/[^/]+\.ya?ml$/.test(p)).sort();
}

/** The pairs, then the scenarios among the shipped `paths`. */
export function catalog(paths: Iterable<string>): CatalogEntry[] {
  return [...GUEST_PAIRS.map((pair): CatalogEntry => ({ kind: "guests", pair })), ...scenarioPaths(paths).map((path): CatalogEntry => ({ kind: "scenario", path }))];
}

/** A stable key for an entry (the guest select's values, the permalink's). */
export function entryKey(entry: CatalogEntry): string {
  return entry.kind === "guests" ? `pair:${entry.pair.name}` : `scenario:${entry.path}`;
}

export function entryLabel(entry: CatalogEntry): string {
  if (entry.kind === "scenario") return entry.path.replace(/^scenarios\//, "");
  const p = entry.pair;
  return p.name === DEMO_PAIR ? `${p.name} (demo)` : p.name;
}

/** What a file is to a setup, for its editor tab. */
export type FileRole = "L1" | "L2" | "scenario" | "include";

export interface SetupFile {
  path: string;
  role: FileRole;
}

/** The files `.include`d by `text` (the source at `path`), resolved as the assembler does: relative to it. */
export function includesOf(path: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^[ \t]*(?:[\w.$]+:[ \t]*)*\.include[ \t]+"([^"]+)"/gm)) {
    const name = m[1]!;
    out.push(name.startsWith("/") ? name : join(dirname(path), name));
  }
  return out;
}

/** The image files a scenario names (resolved against its folder), L1's first; none when the YAML does not parse. */
export function scenarioImages(path: string, text: string): SetupFile[] {
  const images = scenarioDoc(text)?.images;
  if (!isRecord(images)) return [];
  const fileOf = (i: unknown, role: FileRole): SetupFile[] => {
    const f = isRecord(i) ? i.file : undefined;
    return typeof f === "string" ? [{ path: f.startsWith("/") ? f : join(dirname(path), f), role }] : [];
  };
  return [...fileOf(images.l1, "L1"), ...(Array.isArray(images.l2) ? images.l2 : []).flatMap((i) => fileOf(i, "L2"))];
}

/**
 * Every file the entry needs, the roots first: the pair's images (or the scenario and its images)
 * and, transitively, what they include. `textOf` gives a file's current text (edited or shipped);
 * a file it does not know is kept (the assembler will name it) but not searched.
 */
export function setupFiles(entry: CatalogEntry, textOf: (path: string) => string | undefined): SetupFile[] {
  const roots: SetupFile[] =
    entry.kind === "guests"
      ? [{ path: entry.pair.l1, role: "L1" }, ...entry.pair.l2.map((i): SetupFile => ({ path: i.path, role: "L2" }))]
      : [{ path: entry.path, role: "scenario" }, ...scenarioImages(entry.path, textOf(entry.path) ?? "")];
  const seen = new Map<string, SetupFile>();
  const queue = [...roots];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    if (seen.has(f.path)) continue;
    seen.set(f.path, f);
    const text = textOf(f.path);
    if (text === undefined || f.role === "scenario") continue;
    for (const inc of includesOf(f.path, text)) queue.push({ path: inc, role: "include" });
  }
  return [...seen.values()];
}

/**
 * The VM options a scenario file sets (`vm:` and `chaos:`), to start the options form from: the
 * form's values override the file's, as the command line's do.
 */
export function scenarioOptions(text: string): Partial<LabOptions> {
  const doc = scenarioDoc(text);
  const vm = isRecord(doc?.vm) ? doc.vm : {};
  const out: Partial<LabOptions> = {};
  if (typeof vm.unmap === "string") out.unmap = vm.unmap;
  if (typeof vm.directMap === "boolean") out.directMap = vm.directMap;
  if (typeof vm.vcpus === "number") out.vcpus = vm.vcpus;
  if (typeof vm.nestedMmus === "number") out.nestedMmus = vm.nestedMmus;
  if (typeof vm.seed === "number") out.seed = vm.seed;
  if (vm.engine === "interp" || vm.engine === "jit") out.engine = vm.engine;
  const chaos = doc?.chaos;
  if (isRecord(chaos) && typeof chaos.seed === "number") {
    out.chaos = typeof chaos.rate === "number" ? { seed: chaos.seed, rate: chaos.rate } : { seed: chaos.seed };
  }
  return out;
}

function scenarioDoc(text: string): Record<string, unknown> | null {
  try {
    const doc: unknown = parse(text);
    return isRecord(doc) ? doc : null;
  } catch {
    // A scenario being edited may not parse: the worker's load names the error in place.
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
