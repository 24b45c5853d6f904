// A permalink is the page's whole experiment in its URL: `#lab=` + base64url(deflate-raw(JSON) +
// checksum) of the setup (a shipped file by its path, an edited one with its text), the step, the
// view and the address shown. JSON has no bigint: IPAs and addresses travel as "0x…" strings.
// Raw deflate has no check of its own, so a link damaged in a mail could still inflate, to
// different source text: four bytes of FNV-1a over the JSON catch that. An uploaded image travels
// as its bytes (base64url) while the whole link stays small enough to paste; a bigger one is
// refused by name rather than made into a link no browser or mail keeps whole. Pure functions
// (CompressionStream is in browsers and Node ≥ 20), so test/web/permalink.test.ts runs them in Node.

import type { LabOptions, LabSetup, SourceFile } from "../protocol.ts";
import type { AddressLevel, AddressSpace } from "./address.ts";

export interface PermalinkAddress {
  space: AddressSpace;
  addr: bigint;
  level?: AddressLevel;
}

export interface Permalink {
  setup: LabSetup;
  /** The timeline step to go to after booting; null: stay at the boot. */
  step: number | null;
  /** The view to open (main.ts's names); null: the default. */
  view: string | null;
  address: PermalinkAddress | null;
}

/** A link that cannot be read; the message says why in the user's terms. */
export class PermalinkError extends Error {
  constructor(message: string) {
    super(`this permalink cannot be opened: ${message}`);
    this.name = "PermalinkError";
  }
}

const PREFIX = "#lab=";
const VERSION = 1;
/** A link inflates to at most this much JSON: a damaged or hostile link must not eat the tab's memory. */
const MAX_JSON_BYTES = 16 << 20;
/** The longest link made with an uploaded image in it (browsers keep ~2 MB URLs; mail and chat less). */
export const MAX_LINK_CHARS = 1_500_000;

/** A link that cannot be made: an uploaded image too big to carry. */
export class PermalinkTooBigError extends Error {
  constructor(file: string, bytes: number) {
    super(`the uploaded image ${file.slice(file.lastIndexOf("/") + 1)} (${Math.ceil(bytes / 1024)} KiB) is too big for a link`);
    this.name = "PermalinkTooBigError";
  }
}

/** `location.hash` for `link`; files whose text is `shipped`'s go by path only, uploaded images with their bytes. */
export async function permalinkHash(link: Permalink, shipped: ReadonlyMap<string, string>): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(toJson(link, shipped)));
  // No reader would inflate it (MAX_JSON_BYTES): refused before the work of compressing it.
  if (json.length > MAX_JSON_BYTES) refuseImages(link.setup.files);
  const packed = await pipe(json, new CompressionStream("deflate-raw"));
  const out = new Uint8Array(packed.length + 4);
  out.set(packed);
  new DataView(out.buffer).setUint32(packed.length, fnv1a(json));
  const hash = PREFIX + base64url(out);
  if (hash.length > MAX_LINK_CHARS) refuseImages(link.setup.files);
  return hash;
}

/** A link too long because of uploaded images is refused, naming the largest; one of text alone is made as before. */
function refuseImages(files: readonly SourceFile[]): void {
  let largest: { path: string; size: number } | undefined;
  for (const f of files) if (f.bytes !== undefined && (largest === undefined || f.bytes.length > largest.size)) largest = { path: f.path, size: f.bytes.length };
  if (largest !== undefined) throw new PermalinkTooBigError(largest.path, largest.size);
}

/** The link in `hash`; null when the hash holds no permalink; a PermalinkError when it is damaged. */
export async function readPermalinkHash(hash: string, shipped: ReadonlyMap<string, string>): Promise<Permalink | null> {
  if (!hash.startsWith(PREFIX)) return null;
  const bytes = unbase64url(hash.slice(PREFIX.length));
  if (bytes.length < 5) throw new PermalinkError("it is damaged (too short); was it cut short when copied?");
  const sum = new DataView(bytes.buffer).getUint32(bytes.length - 4);
  let raw: Uint8Array;
  try {
    raw = await pipe(bytes.subarray(0, bytes.length - 4), new DecompressionStream("deflate-raw"), MAX_JSON_BYTES);
  } catch (e) {
    if (e instanceof PermalinkError) throw e;
    throw new PermalinkError("it is damaged (its data does not decompress); was it cut short when copied?");
  }
  if (fnv1a(raw) !== sum) throw new PermalinkError("it is damaged (its checksum does not match); was it changed when copied?");
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new PermalinkError("it is damaged (its data is not UTF-8 text)");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new PermalinkError("it is damaged (its data is not JSON)");
  }
  return fromJson(doc, shipped);
}

// ------------------------------------------------------------------ JSON shape

/** A shipped file by path, an edited one with its text, an uploaded image with its bytes (base64url). */
type JsonFile = string | { path: string; text: string } | { path: string; bytes: string };

function jsonFile(f: SourceFile, shipped: ReadonlyMap<string, string>): JsonFile {
  if (f.bytes !== undefined) return { path: f.path, bytes: base64url(f.bytes) };
  return shipped.get(f.path) === f.text ? f.path : { path: f.path, text: f.text };
}

function toJson(link: Permalink, shipped: ReadonlyMap<string, string>): unknown {
  const s = link.setup;
  const files = s.files.map((f) => jsonFile(f, shipped));
  const setup =
    s.kind === "guests"
      ? { kind: s.kind, l1: s.l1, l2: s.l2.map((i) => ({ path: i.path, ipa: hex(i.ipa) })), files, options: s.options }
      : { kind: s.kind, path: s.path, files, options: s.options };
  const address = link.address === null ? null : { ...link.address, addr: hex(link.address.addr) };
  return { v: VERSION, setup, step: link.step, view: link.view, address };
}

function fromJson(doc: unknown, shipped: ReadonlyMap<string, string>): Permalink {
  const d = record(doc, "the link");
  if (d.v !== VERSION) throw new PermalinkError(`it is of version ${JSON.stringify(d.v)}, this page reads version ${VERSION}`);
  const step = d.step === null || d.step === undefined ? null : count(d.step, "step");
  const view = d.view === null || d.view === undefined ? null : str(d.view, "view");
  return { setup: setupOf(record(d.setup, "setup"), shipped), step, view, address: addressOf(d.address) };
}

function setupOf(s: Record<string, unknown>, shipped: ReadonlyMap<string, string>): LabSetup {
  const files = list(s.files, "setup.files").map((f, i) => fileOf(f, `setup.files[${i}]`, shipped));
  const options = optionsOf(record(s.options, "setup.options"));
  if (s.kind === "scenario") return { kind: "scenario", path: str(s.path, "setup.path"), files, options };
  if (s.kind !== "guests") throw new PermalinkError(`setup.kind is ${JSON.stringify(s.kind)}, not "guests" or "scenario"`);
  const l2 = list(s.l2, "setup.l2").map((i, n) => {
    const img = record(i, `setup.l2[${n}]`);
    return { path: str(img.path, `setup.l2[${n}].path`), ipa: address(img.ipa, `setup.l2[${n}].ipa`) };
  });
  return { kind: "guests", l1: str(s.l1, "setup.l1"), l2, files, options };
}

function fileOf(f: unknown, what: string, shipped: ReadonlyMap<string, string>): SourceFile {
  if (typeof f === "string") {
    const text = shipped.get(f);
    if (text === undefined) throw new PermalinkError(`it names the shipped file ${f}, which this page does not have`);
    return { path: f, text };
  }
  const r = record(f, what);
  const path = str(r.path, `${what}.path`);
  if (r.bytes === undefined) return { path, text: str(r.text, `${what}.text`) };
  const b64 = str(r.bytes, `${what}.bytes`);
  if (!/^[A-Za-z0-9_-]*$/.test(b64) || b64.length % 4 === 1) throw new PermalinkError(`${what}.bytes (the image ${path}) is not base64url`);
  return { path, text: "", bytes: unbase64url(b64) };
}

function optionsOf(o: Record<string, unknown>): LabOptions {
  const chaos = o.chaos === null ? null : record(o.chaos, "options.chaos");
  const engine = o.engine;
  if (engine !== "interp" && engine !== "jit") throw new PermalinkError(`options.engine is ${JSON.stringify(engine)}, not "interp" or "jit"`);
  return {
    unmap: str(o.unmap, "options.unmap"),
    directMap: bool(o.directMap, "options.directMap"),
    vcpus: count(o.vcpus, "options.vcpus"),
    nestedMmus: o.nestedMmus === null ? null : count(o.nestedMmus, "options.nestedMmus"),
    seed: o.seed === null ? null : count(o.seed, "options.seed"),
    chaos: chaos === null ? null : { seed: count(chaos.seed, "options.chaos.seed"), ...(chaos.rate === undefined ? {} : { rate: count(chaos.rate, "options.chaos.rate") }) },
    check: bool(o.check, "options.check"),
    engine,
    snapshotEvery: count(o.snapshotEvery, "options.snapshotEvery"),
  };
}

const SPACES: readonly AddressSpace[] = ["va", "nipa", "ipa", "pa"];

function addressOf(a: unknown): PermalinkAddress | null {
  if (a === null || a === undefined) return null;
  const r = record(a, "address");
  const space = SPACES.find((s) => s === r.space);
  if (space === undefined) throw new PermalinkError(`address.space is ${JSON.stringify(r.space)}, not one of ${SPACES.join(", ")}`);
  const addr = address(r.addr, "address.addr");
  if (r.level === undefined) return { space, addr };
  if (r.level !== "L1" && r.level !== "L2") throw new PermalinkError(`address.level is ${JSON.stringify(r.level)}, not "L1" or "L2"`);
  return { space, addr, level: r.level };
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new PermalinkError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new PermalinkError(`${what} is not a list`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw new PermalinkError(`${what} is not a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new PermalinkError(`${what} is not true or false`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new PermalinkError(`${what} is not a whole number`);
  return v;
}

function address(v: unknown, what: string): bigint {
  if (typeof v !== "string" || !/^0x[0-9a-f]{1,16}$/i.test(v)) throw new PermalinkError(`${what} is not a 0x-hex address`);
  return BigInt(v);
}

function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

// ------------------------------------------------------------------ bytes

/** `bytes` through a (de)compression stream; more than `limit` bytes out is refused. */
async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream, limit = Infinity): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.length;
    if (size > limit) {
      await reader.cancel();
      throw new PermalinkError(`it inflates to more than ${limit >> 20} MiB`);
    }
    chunks.push(r.value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** 32-bit FNV-1a: a check against damage in transit, not against forgery. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  // In slices: String.fromCharCode's arguments live on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unbase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new PermalinkError("it is damaged (not base64url text); was it cut or changed when copied?");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
