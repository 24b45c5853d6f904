// A snapshot of a whole VM at an instruction boundary: host memory (guest RAM, L0's page pool with
// every stage-2 table, the vCPUs' register blocks) frame by frame, and every object of the VM's
// state (vCPUs, TLBs, L0's MMUs, strategy state, pools, memslots, the scheduler and its RNG, the
// event log, the monitors: checker, scenario timeline, chaos) by an in-place checkpoint. Restoring
// puts the same objects back as they were, so the run goes on exactly as it did from that step.

import { Memslot } from "../../hypervisor/memslot.ts";
import { OFF_NZCV, OFF_PC } from "../../emulator/cpu_layout.ts";
import { CpuState } from "../../emulator/cpu_state.ts";
import { Decoder } from "../../emulator/decode.ts";
import { JitCache } from "../../emulator/jit/cache.ts";
import { CODE_LINE_TRACKED, Page } from "../../emulator/memory.ts";
import { HostError } from "../../hypervisor/errors.ts";
import { EventLog } from "../../hypervisor/events.ts";
import type { Kvm } from "../../hypervisor/vm.ts";
import { existingCheckerState } from "../check_truth.ts";
import { captureHeap, describeHeap, type HeapImage, type HeapPolicy, restoreHeap } from "./heap.ts";
import { captureHostFrames, type HostFrames, restoreHostFrames } from "./host_frames.ts";

export interface VmSnapshot {
  /** Instructions retired by all vCPUs when it was taken. */
  readonly steps: number;
  readonly heap: HeapImage;
  readonly frames: HostFrames;
  /** Memory it holds that no earlier snapshot of the same VM shares. */
  readonly bytes: number;
}

/**
 * The state that is not the VM's: shared decoders, translated code (rebuilt from memory), and what
 * front ends attach (the event log's listeners, the console's sink, the debugger's breakpoints).
 * Decoded instructions are not saved either (restoring drops them, and the code map with them: the
 * caches refill as code runs). `compare`: also leave out the interpreter's scratch results and
 * whether a page's stores divert (which follows its decoded-instruction cache).
 */
/** The interpreter's scratch results and per-instruction flags: dead between instructions, and left alone by translated code. */
const SCRATCH = new Set<string | symbol>(["tLo", "tHi", "rLo", "rHi", "pcWritten"]);

function policyOf(kvm: Kvm, compare = false): HeapPolicy {
  return {
    opaque: (o) => o instanceof Decoder || o instanceof JitCache,
    transient: (o, key) => {
      if (o instanceof Page && (key === "code" || key === "ops")) return "drop";
      if (compare && ((o instanceof CpuState && SCRATCH.has(key)) || (o instanceof Page && key === "divert"))) return "drop";
      if ((key === "listeners" && o instanceof EventLog) || (key === "onConsole" && o === kvm) || (key === "breakpoints" && o instanceof CpuState)) return "keep";
      // A debugger's watchpoints (debug/watch.ts) are not the VM's state: they stay as they are.
      if ((key === "watch" && o instanceof Page) || (o instanceof CpuState && typeof key === "string" && key.startsWith("watched")) || (key === "backingWatch" && o instanceof Memslot) || ((key === "l0Watch" || key === "running") && o === kvm)) return "keep";
      return null;
    },
    hostBuffer: kvm.mem.host.buffer,
  };
}

/** The objects the VM's state hangs from (the checker keeps its own beside the VM). */
function rootsOf(kvm: Kvm, extra: readonly object[]): object[] {
  const checker = existingCheckerState(kvm);
  return [kvm, ...(checker ? [checker] : []), ...extra];
}

function refuseOpenFiles(kvm: Kvm, what: string): void {
  const sh = kvm.vcpus[0]?.cpu.options.semihosting;
  if (sh && sh.openFiles > 0) {
    throw new HostError(`cannot ${what}: the guest has ${sh.openFiles} host file(s) open through semihosting, whose offsets a snapshot cannot hold`);
  }
}

/**
 * Take a snapshot; frames equal to `prev`'s (an earlier snapshot of this VM) are shared with it.
 * `extra`: more objects whose state goes with the VM (a debugger's run state).
 */
export function takeSnapshot(kvm: Kvm, prev: VmSnapshot | null = null, extra: readonly object[] = []): VmSnapshot {
  refuseOpenFiles(kvm, "take a snapshot");
  const heap = captureHeap(rootsOf(kvm, extra), policyOf(kvm), prev?.heap ?? null);
  const frames = captureHostFrames(kvm.mem.hostU8, kvm.mem.firstStateByte, kvm.mem.usedHostBytes, prev?.frames ?? null);
  return { steps: kvm.steps, heap, frames, bytes: heap.bytes + frames.ownBytes };
}

/** Put the VM back to `snap` (taken of this same VM). Translated code is dropped and rebuilt as the run goes. */
export function restoreSnapshot(kvm: Kvm, snap: VmSnapshot): void {
  kvm.vcpus[0]?.cpu.options.semihosting?.closeAll();
  restoreHostFrames(kvm.mem.hostU8, snap.frames, kvm.mem.usedHostBytes);
  restoreHeap(snap.heap);
  kvm.mem.dropDecodedCaches();
  JitCache.existing(kvm.mem)?.dropAll();
}

/**
 * Host memory as states compare: the code map goes with the decoded-instruction caches (see
 * policyOf) but for its write-tracking bits, and the slots where translated code hands NZCV and the
 * PC to the dispatcher hold whatever the last unit left there (the vCPU's flags and PC live in the
 * CPU object): they read as zero.
 */
function comparableHost(kvm: Kvm): Uint8Array {
  const copy = kvm.mem.hostU8.slice(0, kvm.mem.usedHostBytes);
  const end = kvm.mem.firstStateByte;
  for (let i = 0; i < end; i++) copy[i]! &= CODE_LINE_TRACKED;
  for (const v of kvm.vcpus) copy.fill(0, v.cpu.stateBase + OFF_NZCV, v.cpu.stateBase + OFF_PC + 8);
  return copy;
}

function isZeroFrame(f: Uint8Array): boolean {
  const w = new Int32Array(f.buffer, f.byteOffset, f.byteLength >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lowercase hex, two digits a byte. */
function bytesHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX_BYTE[b] ?? "";
  return s;
}

/**
 * The VM's state as text lines, for comparing two VMs (a restored run against a plain one): equal
 * lines, equal states. Host memory is given as one line per non-zero frame.
 */
export function describeVmState(kvm: Kvm, emit: (line: string) => void, extra: readonly object[] = []): void {
  describeHeap(rootsOf(kvm, extra), policyOf(kvm, true), emit);
  const host = comparableHost(kvm);
  const used = kvm.mem.usedHostBytes;
  for (let off = 0; off < used; off += 4096) {
    const f = host.subarray(off, off + 4096);
    if (!isZeroFrame(f)) emit(`frame ${off >>> 12}: ${bytesHex(f)}`);
  }
}

/** FNV-1a over 32 bits, two lanes with different seeds: a 64-bit fingerprint, not a cryptographic one. */
class Fnv64 {
  private a = 0x811c9dc5;
  private b = 0x050c5d1f;
  byte(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193) >>> 0;
    this.b = Math.imul(this.b ^ x, 0x01000193) >>> 0;
  }
  /** `byte` of each of `bs`, with the lanes in locals (host memory is tens of MiB). */
  bytes(bs: Uint8Array): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < bs.length; i++) {
      const x = bs[i]!;
      a = Math.imul(a ^ x, 0x01000193) >>> 0;
      b = Math.imul(b ^ x, 0x01000193) >>> 0;
    }
    this.a = a;
    this.b = b;
  }
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.byte(c & 0xff);
      if (c > 0xff) this.byte(c >>> 8);
    }
    this.byte(10);
  }
  hex(): string {
    return this.a.toString(16).padStart(8, "0") + this.b.toString(16).padStart(8, "0");
  }
}

/** A fingerprint of the VM's whole state: equal states, equal fingerprints (16 hex digits). */
export function fingerprintVm(kvm: Kvm, extra: readonly object[] = []): string {
  const h = new Fnv64();
  describeHeap(rootsOf(kvm, extra), policyOf(kvm, true), (line) => h.text(line));
  h.bytes(comparableHost(kvm));
  return h.hex();
}
