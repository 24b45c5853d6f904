// The messages between the page (web/ui) and the worker that runs the VM (web/worker). Everything
// crosses by structured clone, so values are plain data: addresses stay bigint, views are the
// debugger's own records (debug/), never class instances.

import type { Registers, TranslationReport } from "../debug/session.ts";
import type { MapsData } from "../debug/maps.ts";

/**
 * One file of a guest: a path (as `.include` and the image loader see it) and its text, or, for an
 * uploaded binary image (ELF or raw), its bytes (then `text` is ""). The loader tells an image's
 * format from the file as the CLI's `--format auto` does (ELF by magic, raw by `.bin`), so the page
 * names an upload's path to match and a setup needs no format of its own.
 */
export interface SourceFile {
  path: string;
  text: string;
  bytes?: Uint8Array;
}

/** The VM options the CLI takes for `nvlab run`, as the page offers them. */
export interface LabOptions {
  /** The unmap strategy; for a scenario, "" keeps the scenario's own (and its direct map). */
  unmap: string;
  directMap: boolean;
  vcpus: number;
  /** Shadow MMUs (default: KVM's two per vCPU). */
  nestedMmus: number | null;
  /** The VM's seed (scheduler); null keeps the default, or the scenario's own. */
  seed: number | null;
  /** Fault injection at random (`--chaos`); null: none beyond the scenario's. */
  chaos: { seed: number; rate?: number } | null;
  check: boolean;
  engine: "interp" | "jit";
  /** Automatic snapshots for the timeline, every this many instructions. */
  snapshotEvery: number;
}

/**
 * What to boot: an L1/L2 pair of images, or a scenario (YAML) whose images are among `files`. L1
 * goes where the CLI puts `--l1 FILE` without an IPA: an ELF at its own addresses, the others at
 * 0x4010_0000; each L2 at its `ipa`.
 */
export type LabSetup =
  | { kind: "guests"; l1: string; l2: { path: string; ipa: bigint }[]; files: SourceFile[]; options: LabOptions }
  | { kind: "scenario"; path: string; files: SourceFile[]; options: LabOptions };

/** An assembler or scenario error placed in a file, for the editor. */
export interface SourceError {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** An event as the page lists it: the debugger's line, its step, and the addresses it names. */
export interface EventView {
  seq: number;
  step: number;
  kind: string;
  text: string;
  addresses: { field: string; space: "nipa" | "ipa" | "pa" | "va"; addr: bigint }[];
}

export interface DisasmLine {
  pc: bigint;
  symbol: string | null;
  insn: string;
  current: boolean;
  breakpoint: boolean;
}

export interface VcpuView {
  index: number;
  level: "L1" | "L2";
  pc: bigint;
  location: string;
  registers: Registers;
  disasm: DisasmLine[];
}

export interface BreakpointView {
  id: number;
  text: string;
  hits: number;
}

export type LabStatus = "empty" | "ready" | "running" | "stopped" | "finished";

/** Everything the page shows about the VM at one moment (sent after every stop, and while running). */
export interface LabState {
  status: LabStatus;
  step: number;
  /** The furthest step this run has reached (the timeline slider's end). */
  reached: number;
  /** Why the VM stopped, as the debugger says it ("" while running). */
  stop: string;
  /** The vCPU shown (the one that stopped last). */
  current: number;
  vcpus: VcpuView[];
  console: string;
  breakpoints: BreakpointView[];
  /** The newest events (at most `EVENT_WINDOW`), oldest first. */
  events: EventView[];
  /** L0's counters at this step. */
  metrics: Record<string, number>;
  /** L0's counters sampled along the run since the previous state (for the charts), oldest first. */
  samples: { step: number; values: Record<string, number> }[];
  /** The run's outcome once over (SYSTEM_OFF, a guest error, a checker stop), as `nvlab run` words it. */
  outcome: string | null;
  /** The invariant checker: attached, and the violation that stopped the run. */
  checker: { attached: boolean; violation: string | null };
  /** The scenario's expectations once the run is over, as `nvlab run` prints them. */
  expectations: string[] | null;
  /** Guest instructions per second of the last run (0 before any). */
  speed: number;
}

export const EVENT_WINDOW = 2000;

export type LabRequestBody =
  | { op: "load"; setup: LabSetup }
  | { op: "run" }
  | { op: "pause" }
  | { op: "step"; unit: "instruction" | "exit" | "event"; count: number; vcpu?: number }
  | { op: "goto"; step: number }
  | { op: "reverse-step" }
  | { op: "reverse-continue" }
  | { op: "select"; vcpu: number }
  | { op: "command"; line: string }
  | { op: "translate"; level: "L1" | "L2"; va: bigint }
  /** A nested IPA is walked in L1's stage-2 of shadow MMU `mmu` (default: the one the vCPU uses, else one that maps it). */
  | { op: "translate-space"; space: "nipa" | "ipa" | "pa"; addr: bigint; mmu?: number }
  | { op: "maps" }
  | { op: "break"; spec: string }
  /** `breakpoint`, not `id`: a request's own `id` (LabRequest) would overwrite it. */
  | { op: "delete"; breakpoint: number };

export type LabRequest = LabRequestBody & { id: number };

/** The answer to one request (`error`: a message for the user, or placed source errors for a load). */
export type LabReply =
  | { type: "reply"; id: number; ok: true; result: unknown }
  | { type: "reply"; id: number; ok: false; error: string; sourceErrors?: SourceError[] };

export type LabMessage = LabReply | { type: "state"; state: LabState };

/** What an address translation answers: the debugger's report (`pt`), its text included. */
export type { TranslationReport, MapsData };
