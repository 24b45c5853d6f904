// The translation chain as data, before any DOM: address boxes and stage boxes in the order the
// CPU goes through them (L2 VA → L2 stage-1 → nested IPA → L1 stage-2 → canonical IPA →
// canonical stage-2 → host PA; an L1 VA has the shorter chain). Each descriptor keeps its links
// already placed in the right space, so the view only draws and a test can check the spaces.

import type { TranslationReport } from "../../debug/translate.ts";
import type { StageWalk, WalkStep } from "../../debug/walk.ts";
import { formatSize } from "./maps_format.ts";
import { linkIn, type AddressLink } from "./translation_spaces.ts";

/** One address the chain passes through. */
export interface AddressBox {
  kind: "address";
  /** The debugger's name of the space ("nested IPA"). */
  name: string;
  link: AddressLink | null;
  /** Why this address is special ("from the host backing: the canonical stage-2 maps nothing here"). */
  note: string | null;
}

export type StepKind = "table" | "leaf" | "invalid" | "unreadable" | "other";

/** One descriptor read, decoded, with its addresses as links. */
export interface StepBox {
  level: number;
  index: number;
  kind: StepKind;
  table: AddressLink | null;
  /** Where the descriptor is (table + 8 × index). */
  address: AddressLink | null;
  /** The descriptor as 16 hex digits, "-" when it could not be read. */
  desc: string;
  meaning: string;
  /** The address the descriptor points at (next table, or the leaf's output). */
  target: AddressLink | null;
}

/** One stage's walk. */
export interface StageBox {
  kind: "stage";
  name: string;
  /** Where this stage's tables live, as the debugger says it. */
  tablesIn: string;
  enabled: boolean;
  steps: StepBox[];
  /** "4K RW-" for a leaf; null when the walk stopped or the stage is off. */
  leaf: string | null;
  stopped: string | null;
}

export type ChainBox = AddressBox | StageBox;

const TARGET = /→ (0x[0-9a-f]+)/;

/** The address a descriptor's meaning names ("table → 0x4000_1000", "page → 0x… (RW-)"). */
export function stepTarget(meaning: string): bigint | null {
  const m = TARGET.exec(meaning);
  return m ? BigInt(m[1]!) : null;
}

function stepKind(step: WalkStep): StepKind {
  if (step.desc === null) return "unreadable";
  if (step.meaning.startsWith("table")) return "table";
  if (step.meaning.startsWith("page") || step.meaning.startsWith("block")) return "leaf";
  if (step.meaning === "invalid") return "invalid";
  return "other";
}

/** A descriptor, its table and the address it points at, each in its own space. */
export function stepBox(walk: StageWalk, step: WalkStep): StepBox {
  const kind = stepKind(step);
  const target = stepTarget(step.meaning);
  // A Table descriptor points at the next table (the tables' space); a leaf at the stage's output space.
  const targetSpace = kind === "table" ? walk.tablesIn : walk.to;
  return {
    level: step.level,
    index: step.index,
    kind,
    table: linkIn(walk.tablesIn, step.table),
    address: linkIn(walk.tablesIn, step.address),
    desc: step.desc === null ? "-" : "0x" + step.desc.toString(16).padStart(16, "0"),
    meaning: step.meaning,
    target: target === null ? null : linkIn(targetSpace, target),
  };
}

export function stageBox(walk: StageWalk): StageBox {
  const leaf = walk.output !== null && walk.enabled && walk.size !== null ? `${formatSize(walk.size)} ${walk.perms ?? ""}`.trim() : null;
  return {
    kind: "stage",
    name: walk.name,
    tablesIn: walk.tablesIn,
    enabled: walk.enabled,
    steps: walk.steps.map((s) => stepBox(walk, s)),
    leaf,
    stopped: walk.stopped,
  };
}

function addressBox(name: string, addr: bigint | null, note: string | null = null): AddressBox {
  return { kind: "address", name, link: addr === null ? null : linkIn(name, addr), note };
}

/** Where the report starts: a VA of its level (`pt`), or the nested or canonical IPA the user clicked. */
export function reportStart(report: TranslationReport): AddressBox {
  if (report.space === "nipa") return addressBox("nested IPA", report.va);
  if (report.space === "ipa") return addressBox("canonical IPA", report.canonical ?? report.va);
  return addressBox(`${report.level} VA`, report.va);
}

/**
 * The chain of a report: the input address, then for each stage its box and the address it gives. A
 * stage that stopped ends the chain. Where the canonical stage-2 maps nothing, the host PA comes
 * from the host backing (shadow faults do not fill the canonical stage-2), and the box says so.
 */
export function translationChain(report: TranslationReport): ChainBox[] {
  const chain: ChainBox[] = [reportStart(report)];
  for (const walk of report.stages) {
    chain.push(stageBox(walk));
    if (walk.output !== null) chain.push(addressBox(walk.to, walk.output));
  }
  const last = report.stages[report.stages.length - 1];
  if (last !== undefined && last.to === "host PA" && last.output === null && report.hostPa !== null) {
    chain.push(addressBox("host PA", report.hostPa, "from the host backing: the canonical stage-2 maps nothing here"));
  }
  return chain;
}
