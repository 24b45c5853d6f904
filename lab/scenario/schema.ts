// The scenario file format (`scenarios/*.yaml`, see scenarios/README.md): its schema, and the
// loader that reports every problem with the field path and the line:column it comes from.

import { isMap, isScalar, LineCounter, parseDocument, type Document, type YAMLParseError } from "yaml";
import { z } from "zod";
import { escapeControls } from "../../asm/errors.ts";
import { readInputText } from "../../asm/host_files.ts";
import { ENGINES } from "../../emulator/engine.ts";
import { hex } from "../../emulator/types.ts";
import { TLBI_TABLE, tlbiByName } from "../../emulator/tlbi.ts";
import { EVENT_KINDS } from "../../hypervisor/event_data.ts";
import { eventFieldNames, eventFieldType, type FieldValue, parseFieldValue } from "../../hypervisor/event_fields.ts";
import { UNMAP_STRATEGIES, type UnmapStrategyName } from "../../hypervisor/unmap/registry.ts";
import { KVM_MAX_VCPUS } from "../../hypervisor/vm.ts";
import { REVMAP_TLBI_MODES } from "../../hypervisor/unmap/strategy.ts";
import { IMAGE_FORMATS } from "../image_file.ts";
import { STORES } from "../injection.ts";
import { metricNameProblem } from "./metric_names.ts";
import { didYouMean } from "./suggest.ts";

/**
 * A scenario file that does not parse or does not validate; the message lists every problem. The
 * CLI reports it as it reports a usage error: no stack trace.
 */
export class ScenarioError extends Error {
  readonly problems: string[];

  constructor(
    readonly file: string,
    problems: string[],
  ) {
    // Problems quote keys and values of the file; a control character in one would garble the terminal.
    const escaped = problems.map(escapeControls);
    super(escaped.join("\n"));
    this.problems = escaped;
    this.name = "ScenarioError";
  }
}

const posInt = z.custom<number>((v) => Number.isSafeInteger(v) && (v as number) > 0, { message: "expected a positive integer" });
const natInt = z.custom<number>((v) => Number.isSafeInteger(v) && (v as number) >= 0, { message: "expected a non-negative integer" });

/** The first value a 64-bit field cannot hold. */
const U64_LIMIT = 1n << 64n;

/** A YAML number or a string in decimal or 0x-hex with K/M/G, as a bigint; or why it is not one. */
function u64Value(v: unknown): bigint | string {
  if (typeof v === "number") {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    // YAML reads a bare 0x10000000000000000 as a float: the value is already rounded.
    if (Number.isInteger(v) && v > 0) return `${v} is too large for a YAML number to hold exactly: quote it ("0x…")`;
    return "expected an integer or a string such as 0x48000000 or 2M";
  }
  if (typeof v !== "string" || !/^(0x[0-9a-f_]+|[0-9_]+)[kmg]?$/i.test(v.trim())) return "expected an integer or a string such as 0x48000000 or 2M";
  const t = v.trim().replace(/_/g, "").toLowerCase();
  const scale = { k: 10n, m: 20n, g: 30n }[t.slice(-1)] ?? null;
  const value = BigInt(scale === null ? t : t.slice(0, -1)) << (scale ?? 0n);
  // Larger values would wrap where 64-bit registers and descriptors hold them (0x1_0000_0000_0000_0000 is 0).
  if (value >= U64_LIMIT) return `${v.trim()} does not fit in 64 bits (at most 0xffffffffffffffff)`;
  return value;
}

/** 64-bit values (addresses, sizes, TLBI operands): an integer, or a string in decimal or 0x-hex with K/M/G. */
const u64 = z.unknown().transform((v, ctx) => {
  const r = u64Value(v);
  if (typeof r === "bigint") return r;
  ctx.addIssue({ code: "custom", message: r });
  return z.NEVER;
});

/** Where an image is loaded: its first word is an instruction, so a multiple of 4. */
const imageIpa = u64.superRefine((v, ctx) => {
  if (v % 4n !== 0n) ctx.addIssue({ code: "custom", message: `${hex(v)} is not a multiple of 4 (an image starts with an instruction, and instructions are 4-byte aligned)` });
});

/** A canonical IPA that starts a 2M block region (split, coalesce). */
const blockIpa = u64.refine((v) => v % (2n << 20n) === 0n, { error: (i) => `${hexText(i.input)} is not 2M aligned (a block region starts at a multiple of 0x200000)` });

/** L1's RAM size: as --memory, a positive multiple of 4 KiB up to 64G. */
const memorySize = u64.refine((v) => v > 0n && v % 0x1000n === 0n && v <= 64n << 30n, {
  error: (i) => `${hexText(i.input)} is not a positive multiple of 4K up to 64G`,
});

function hexText(v: unknown): string {
  return typeof v === "bigint" ? `0x${v.toString(16)}` : String(v);
}

/** A JavaScript regular expression (source only; compiled with the `m` flag). */
const regex = z.string({ error: "expected a regular expression (a string)" }).superRefine((s, ctx) => {
  try {
    new RegExp(s, "m");
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `invalid regular expression: ${(e as Error).message}` });
  }
});

const str = z.string({ error: "expected a string" });

/** Exactly one of the object's keys must be given. */
function exactlyOne(what: string, keys: readonly string[]) {
  return (o: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const given = keys.filter((k) => o[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: given.length === 0 ? `${what} needs one of: ${keys.join(", ")}` : `${what} takes only one of: ${given.join(", ")}`,
      });
    }
  };
}

/**
 * An event trigger: the kind, then any of its fields with the value they must have (`{kind: tlbi,
 * op: IPAS2E1IS}`), `match` (a regular expression on the event's text) and `nth`.
 */
const EventTrigger = z
  .object({
    kind: z.enum(EVENT_KINDS, {
      error: (issue) =>
        typeof issue.input === "string"
          ? `no event kind "${issue.input}"${didYouMean(issue.input, EVENT_KINDS)} (kinds: ${EVENT_KINDS.join(", ")})`
          : `expected an event kind: ${EVENT_KINDS.join(", ")}`,
    }),
    match: regex.optional(),
    nth: posInt.optional(),
  })
  .catchall(z.unknown())
  .transform((o, ctx) => {
    const { kind, match, nth, ...rest } = o;
    const fields: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(rest)) {
      if (eventFieldType(kind, k) === null) {
        const names = eventFieldNames(kind) ?? [];
        const near = didYouMean(k, [...names, "match", "nth"]);
        ctx.addIssue({ code: "custom", path: [k], message: `no field "${k}" in ${kind} events${near || ` (fields: ${names.join(", ")}; also match, nth)`}` });
        continue;
      }
      // parseFieldValue gives TLBI operations and fixed values as the events spell them (`ipas2e1is` →
      // IPAS2E1IS), so a trigger never waits for a spelling no event has.
      const r = parseFieldValue(kind, k, v);
      if (!("error" in r)) fields[k] = r.value;
      else if (k === "op" && typeof v === "string") ctx.addIssue({ code: "custom", path: [k], message: `not a TLBI operation: "${v}"${didYouMean(v, TLBI_NAMES)}` });
      else ctx.addIssue({ code: "custom", path: [k], message: r.error });
    }
    return {
      kind,
      ...(match !== undefined ? { match } : {}),
      ...(nth !== undefined ? { nth } : {}),
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    };
  });

const TLBI_NAMES = TLBI_TABLE.map((t) => t.name);

const TRIGGERS = ["step", "exits", "shadowFaults", "event"] as const;
const Trigger = z
  .strictObject({
    step: posInt.optional(),
    exits: posInt.optional(),
    shadowFaults: posInt.optional(),
    event: EventTrigger.optional(),
  })
  .superRefine(exactlyOne("a trigger", TRIGGERS));

const PAGE = 0x1000n;
const U64_END = 1n << 64n;

/**
 * A range the host takes back: whole 4K pages (the MMU notifier hands KVM page-aligned ranges), at
 * least one, not wrapping past the top of the address space. Size defaults to 4K.
 */
function hostRange(r: { ipa: bigint; size?: bigint | undefined }, ctx: z.RefinementCtx): void {
  const size = r.size ?? PAGE;
  if (r.ipa % PAGE !== 0n) ctx.addIssue({ code: "custom", path: ["ipa"], message: `${hex(r.ipa)} is not 4K-aligned (the host takes back whole pages)` });
  if (size === 0n) ctx.addIssue({ code: "custom", path: ["size"], message: "expected a size of at least 4K, not 0" });
  else if (size % PAGE !== 0n) ctx.addIssue({ code: "custom", path: ["size"], message: `${hex(size)} is not a multiple of 4K (the host takes back whole pages)` });
  else if (r.ipa + size > U64_END) {
    ctx.addIssue({ code: "custom", path: ["size"], message: `${hex(r.ipa)} + ${hex(size)} wraps past the top of the 64-bit address space` });
  }
}

export const ACTIONS = [
  "unmapCanonical", "failRevmapStores", "failStores", "recycle", "tlbi", "split", "coalesce", "deleteMemslot", "logDirtyPages", "getDirtyLog",
  "skipTlbInvalidation",
] as const;
const CoalesceOrder = z.enum(["bbm", "install-first"], { error: "expected bbm or install-first" });
const Action = z
  .strictObject({
    unmapCanonical: z
      .strictObject({ ipa: u64, size: u64.optional(), mayBlock: z.boolean({ error: "expected true or false" }).optional() })
      .superRefine(hostRange)
      .optional(),
    failRevmapStores: posInt.optional(),
    failStores: z.strictObject({ store: z.enum(STORES, { error: `expected one of: ${STORES.join(", ")}` }), count: posInt }).optional(),
    recycle: z
      .strictObject({
        mmu: z.custom<number | "any-valid">((v) => v === "any-valid" || (Number.isSafeInteger(v) && (v as number) >= 0), {
          message: 'expected a shadow MMU index or "any-valid"',
        }),
      })
      .optional(),
    tlbi: z
      .strictObject({
        op: str.refine((s) => tlbiByName(s) !== undefined, { message: "not a TLBI operation (e.g. IPAS2E1IS, VMALLS12E1IS)" }),
        operand: u64.optional(),
      })
      .optional(),
    split: z.strictObject({ ipa: blockIpa }).optional(),
    coalesce: z.strictObject({ ipa: blockIpa, order: CoalesceOrder.optional(), costPerPage: natInt.optional() }).optional(),
    deleteMemslot: z.strictObject({ ipa: u64 }).optional(),
    logDirtyPages: z.strictObject({ ipa: u64, enable: z.boolean({ error: "expected true or false" }) }).optional(),
    getDirtyLog: z.strictObject({ ipa: u64 }).optional(),
    skipTlbInvalidation: posInt.optional(),
  })
  .superRefine(exactlyOne("an action", ACTIONS));

const Bounds = z
  .strictObject({ min: z.number({ error: "expected a number" }).optional(), max: z.number({ error: "expected a number" }).optional(), eq: z.number({ error: "expected a number" }).optional() })
  .refine((b) => b.min !== undefined || b.max !== undefined || b.eq !== undefined, { message: "give at least one of min, max, eq" })
  .superRefine((b, ctx) => {
    // Bounds no value can meet would make the expectation fail whatever the run does.
    const empty =
      b.min !== undefined && b.max !== undefined && b.min > b.max
        ? `min ${b.min} is above max ${b.max}`
        : b.eq !== undefined && b.min !== undefined && b.eq < b.min
          ? `eq ${b.eq} is below min ${b.min}`
          : b.eq !== undefined && b.max !== undefined && b.eq > b.max
            ? `eq ${b.eq} is above max ${b.max}`
            : null;
    if (empty !== null) ctx.addIssue({ code: "custom", message: `${empty}: no value can meet these bounds` });
  });

/** Metric expectations: names from the typed set (hypervisor/metrics.ts), each with bounds. */
const MetricExpectations = z.record(z.string(), Bounds).superRefine((m, ctx) => {
  for (const name of Object.keys(m)) {
    const problem = metricNameProblem(name);
    if (problem !== null) ctx.addIssue({ code: "custom", path: [name], message: problem });
  }
});

/** `expect.timeline`: every entry fired at least once (`fired`), or as often as its repeat asks (`complete`). */
export const TIMELINE_EXPECTATIONS = ["fired", "complete"] as const;

/** How an image file is read (lab/image_file.ts); auto unless given. */
const imageFormat = z.enum(IMAGE_FORMATS, { error: `expected one of: ${IMAGE_FORMATS.join(", ")}` });

export const STRATEGIES = UNMAP_STRATEGIES;
export type StrategyName = UnmapStrategyName;

export const ScenarioSchema = z.strictObject({
  name: str.min(1, { message: "expected a non-empty string" }),
  description: str.optional(),
  images: z.strictObject({
    l1: z.strictObject({ file: str, ipa: imageIpa.optional(), format: imageFormat.optional() }),
    l2: z.array(z.strictObject({ file: str, ipa: imageIpa, format: imageFormat.optional() }), { error: "expected a list of {file, ipa, format?}" }).optional(),
  }),
  vm: z
    .strictObject({
      vcpus: z
        .custom<number>((v) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= KVM_MAX_VCPUS, {
          message: `expected 1 to ${KVM_MAX_VCPUS} vCPUs (KVM_MAX_VCPUS on arm64, also QEMU virt's limit)`,
        })
        .optional(),
      memory: memorySize.optional(),
      nestedMmus: posInt.optional(),
      unmap: z.enum(STRATEGIES, { error: `expected one of: ${STRATEGIES.join(", ")}` }).optional(),
      directMap: z.boolean({ error: "expected true or false" }).optional(),
      revmapTlbi: z.enum(REVMAP_TLBI_MODES, { error: `expected one of: ${REVMAP_TLBI_MODES.join(", ")}` }).optional(),
      blocks: z.boolean({ error: "expected true or false" }).optional(),
      ramSlots: posInt.optional(),
      nestedS2WpFlush: z.boolean({ error: "expected true or false" }).optional(),
      stage2UnmapSplit: z.boolean({ error: "expected true or false" }).optional(),
      seed: natInt.optional(),
      engine: z.enum(ENGINES, { error: `expected one of: ${ENGINES.join(", ")}` }).optional(),
      poolPages: posInt.optional(),
      coalesce: z.strictObject({ order: CoalesceOrder.optional(), costPerPage: natInt.optional() }).optional(),
      schedule: z
        .strictObject({
          policy: z.enum(["round-robin", "random"], { error: "expected round-robin or random" }).optional(),
          quantum: posInt.optional(),
        })
        .optional(),
    })
    .optional(),
  maxSteps: posInt.optional(),
  chaos: z.strictObject({ seed: natInt, rate: posInt.optional() }).optional(),
  timeline: z
    .array(
      z.strictObject({
        at: Trigger,
        do: Action,
        repeat: z.strictObject({ every: posInt, times: posInt }).optional(),
      }),
      { error: "expected a list of {at, do, repeat?}" },
    )
    .optional(),
  expect: z.strictObject({
    exitCode: natInt.optional(),
    console: regex.optional(),
    invariants: z
      .union([z.literal("hold"), z.strictObject({ violated: z.enum(["S", "R", "A", "L", "T"], { error: "expected S, R, A, L or T" }) })], {
        error: 'expected "hold" or {violated: S|R|A|L|T}',
      })
      .optional(),
    metrics: MetricExpectations.optional(),
    timeline: z.enum(TIMELINE_EXPECTATIONS, { error: "expected fired (every entry fired at least once) or complete (every entry fired all its times)" }).optional(),
  }),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type TimelineEntry = NonNullable<Scenario["timeline"]>[number];

/** `timeline[2].at.exits` */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s || "(top level)";
}

/** The source offset of the node at `path`, or of its nearest existing ancestor. */
function offsetOf(doc: Document, path: readonly PropertyKey[], key?: string): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (!node || !node.range) continue;
    if (key !== undefined && n === path.length && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      const k = pair?.key as { range?: [number, number, number] } | undefined;
      if (k?.range) return k.range[0];
    }
    return node.range[0];
  }
  return 0;
}

function issueMessage(issue: z.core.$ZodIssue, present: boolean): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_type":
      if (!present) return "is required";
      // Zod's own wording ("Invalid input: …") gives way to the type; custom messages stay.
      return issue.message.startsWith("Invalid input") ? `expected ${issue.expected}` : issue.message;
    default:
      return present ? issue.message : "is required";
  }
}

/**
 * Aliases that expand past the yaml package's bound (a "billion laughs" document) are a problem in
 * the file, reported as one.
 */
function toJs(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new ScenarioError(file, [`${file}: its YAML aliases expand too far (a document whose aliases repeat aliases, more than ${MAX_ALIAS_COUNT} expansions)`]);
    }
    throw e;
  }
}

const MAX_ALIAS_COUNT = 100;

/**
 * The parser's message for a YAML error, first line only. The parser runs out of stack on lists
 * or maps nested some thousand levels deep and says so in JavaScript's words: say it in the file's.
 */
function yamlErrorText(e: YAMLParseError): string {
  if (e.code === "RESOURCE_EXHAUSTION" && /call stack/i.test(e.message)) return "lists or maps nested too deeply here for the YAML parser";
  const first = e.message.split("\n")[0] ?? e.message;
  if (first.length <= MAX_YAML_MESSAGE) return first;
  // The parser quotes the token it stopped at: in a file that is not YAML, whole paragraphs of it.
  const quoted = /^(.*?: ")([\s\S]*)"$/.exec(first);
  return quoted ? `${quoted[1]}${quoted[2]!.slice(0, 40)}…"` : `${first.slice(0, MAX_YAML_MESSAGE)}…`;
}

const MAX_YAML_MESSAGE = 160;
const MAX_YAML_ERRORS = 10;

/** Parse and validate scenario text; `file` names it in messages. */
export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const where = (offset: number): string => {
    const p = lineCounter.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    // A file that is not YAML at all has an error on every line: the first ones say enough.
    const shown = doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => `${where(e.pos[0])}: ${yamlErrorText(e)}`);
    const more = doc.errors.length - shown.length;
    if (more > 0) shown.push(`${file}: ${more} more YAML syntax errors (is it a scenario file?)`);
    throw new ScenarioError(file, shown);
  }
  const data = toJs(doc, file);
  const r = ScenarioSchema.safeParse(data);
  if (r.success) return r.data;
  const problems = r.error.issues
    .map((issue) => {
    const path = issue.path;
    const key = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const present = issue.code === "unrecognized_keys" || doc.getIn(path as unknown[], true) !== undefined || path.length === 0;
    const field = key === undefined ? formatPath(path) : formatPath([...path, key]);
    const offset = offsetOf(doc, path, key);
    return { offset, text: `${where(offset)}: ${field}: ${issueMessage(issue, present)}` };
  })
    .sort((a, b) => a.offset - b.offset)
    .map((p) => p.text);
  throw new ScenarioError(file, problems);
}

/** Read and validate a scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  return parseScenario(await readInputText(file), file);
}
