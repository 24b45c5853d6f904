// The translated-code cache of one machine (shared by its vCPUs, as the pages are): units keyed by
// the page they were built from and the VA page they were built for. A unit hangs off the page's
// decoded-instruction array, so anything that drops that array (a write to the page, the page
// going away) drops the unit with it; the code map (memory.ts) makes translated stores to such a
// page take the interpreter's path, which does the dropping. The cache holds at most
// `limitBytes` of WebAssembly; past that the oldest units are dropped first.

import type { CpuState } from "../cpu_state.ts";
import type { Op } from "../decode.ts";
import type { Page, PhysMemory } from "../memory.ts";
import type { JitStats } from "./stats.ts";
import { generate, PAGE_SLOTS, plan } from "./translate.ts";

/**
 * Dispatches into a page before it is translated. NVLAB_JIT_HOT overrides it (1 translates on
 * first sight, which the test suite uses to run everything it can through translated code).
 */
const HOT = hotThreshold();

function hotThreshold(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NVLAB_JIT_HOT;
  const n = env === undefined || env === "" ? 16 : Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`NVLAB_JIT_HOT=${env}: expected a positive integer`);
  return n;
}
/** Translations of one page (new entries, rewritten code) before it is left to the interpreter. */
const MAX_COMPILES_PER_PAGE = 48;
export const DEFAULT_CACHE_BYTES = 32 << 20;
const HELPER_EXIT = 16;

export type UnitFn = (base: number, budget: number, entry: number) => number;

export interface Unit {
  readonly fn: UnitFn;
  readonly page: Page;
  /** The decoded-op array the unit was built from: the unit is live while the page still has it. */
  readonly opsRef: unknown[];
  /** VA page number (hi·2^20 + lo>>>12) the unit was built for. */
  readonly vpn: number;
  readonly vaLo: number;
  readonly vaHi: number;
  /** Slot → block index, -1 when the slot is not a block start. */
  readonly blockAt: Int16Array;
  readonly terminator: Uint8Array;
  readonly helperOps: readonly Op[];
  readonly helperSlots: readonly number[];
  readonly bytes: number;
  dead: boolean;
}

/** Per page (hung off its decoded-op array): heat before translation, the unit, entries seen. */
interface PageJit {
  heat: number;
  unit: Unit | null;
  entries: Set<number>;
}

type OpsArray = (Op | undefined)[] & { jit?: PageJit };

/** The interpreter side of a helper call: the CPU whose unit is running and its step count at entry. */
export interface Running {
  cpu: CpuState;
  steps0: number;
}

export class JitCache {
  private readonly units = new Set<Unit>();
  private readonly compilesOf = new WeakMap<Page, number>();
  private bytes = 0;
  readonly stats: JitStats;
  /** Set by the dispatcher before each unit call. */
  readonly running: Running = { cpu: null as unknown as CpuState, steps0: 0 };
  /** Block index for the unit `lookup` returned. */
  entry = 0;
  /** Set when `lookup` returned null because the PC is at an instruction units never translate. */
  atTerminator = false;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly decode: (page: Page, slot: number) => Op,
    readonly limitBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.stats = {
      compiles: 0, instructions: 0, compileSeconds: 0, cacheBytes: 0, cacheLimitBytes: limitBytes,
      evictions: 0, invalidations: 0, jitInstructions: 0,
    };
  }

  private static readonly byMemory = new WeakMap<PhysMemory, JitCache>();

  static of(mem: PhysMemory, decode: (page: Page, slot: number) => Op): JitCache {
    let c = JitCache.byMemory.get(mem);
    if (!c) JitCache.byMemory.set(mem, (c = new JitCache(mem.host, decode)));
    return c;
  }

  /**
   * The unit to run at this PC (with `entry` set), or null: not hot yet, a terminator, or a page
   * left to the interpreter.
   */
  lookup(page: Page, vpn: number, lo: number, hi: number): Unit | null {
    this.atTerminator = false;
    const ops = page.ops as OpsArray | null;
    if (ops === null) return null;
    const jp = ops.jit ?? (ops.jit = { heat: 0, unit: null, entries: new Set() });
    const slot = (lo & 0xfff) >>> 2;
    const u = jp.unit;
    if (u !== null && u.vpn === vpn) {
      const e = u.blockAt[slot]!;
      if (e >= 0) {
        this.entry = e;
        return u;
      }
      if (u.terminator[slot]) {
        this.atTerminator = true;
        return null;
      }
    }
    jp.entries.add(slot);
    if (++jp.heat < HOT) return null;
    const n = this.compilesOf.get(page) ?? 0;
    if (n >= MAX_COMPILES_PER_PAGE) return null;
    this.compilesOf.set(page, n + 1);
    if (u !== null) this.drop(u, false);
    const nu = this.compile(page, ops, jp, vpn, lo, hi);
    jp.unit = nu;
    const e = nu.blockAt[slot]!;
    if (e < 0) return null;
    this.entry = e;
    return nu;
  }

  private compile(page: Page, ops: OpsArray, jp: PageJit, vpn: number, lo: number, hi: number): Unit {
    const t0 = performance.now();
    const vaLo = (lo & ~0xfff) >>> 0;
    const pageVa = (BigInt(hi) << 32n) | BigInt(vaLo);
    const decoded: Op[] = new Array<Op>(PAGE_SLOTS);
    const opAt = (s: number): Op => (decoded[s] ??= this.decode(page, s));
    const p = plan({ op: opAt, va: pageVa, entries: jp.entries });
    const g = generate(p, decoded, pageVa);
    const running = this.running;
    const helperOps = g.helperOps;
    const helperSlots = g.helperSlots;
    // Helper call: the interpreter's handler for instruction `h`, `done` instructions into the call.
    const call = (h: number, done: number, nzcv: number): number => {
      const cpu = running.cpu;
      cpu.steps = running.steps0 + done + 1;
      const s = helperSlots[h]!;
      cpu.pcLo = (vaLo + s * 4) >>> 0;
      cpu.pcHi = hi;
      cpu.setNzcv(nzcv);
      cpu.pcWritten = false;
      const op = helperOps[h]!;
      op.exec(cpu, op);
      let r = cpu.nzcv();
      if (cpu.pcWritten || page.ops !== ops) {
        if (!cpu.pcWritten) advance(cpu);
        r |= HELPER_EXIT;
      }
      return r;
    };
    const mod = new WebAssembly.Module(g.bytes);
    const inst = new WebAssembly.Instance(mod, { h: { c: call }, e: { m: this.memory } });
    const unit: Unit = {
      fn: inst.exports.f as UnitFn, page, opsRef: ops, vpn, vaLo, vaHi: hi,
      blockAt: p.blockAt, terminator: p.terminator, helperOps, helperSlots, bytes: g.bytes.length, dead: false,
    };
    this.units.add(unit);
    this.bytes += unit.bytes;
    const s = this.stats;
    s.compiles++;
    s.instructions += p.instructions;
    s.compileSeconds += (performance.now() - t0) / 1000;
    this.evict();
    s.cacheBytes = this.bytes;
    return unit;
  }

  /** Drop units whose page lost its code, then the oldest until the cache fits its bound. */
  private evict(): void {
    for (const u of this.units) if (u.page.ops !== u.opsRef) this.drop(u, true);
    for (const u of this.units) {
      if (this.bytes <= this.limitBytes) break;
      this.drop(u, false);
      this.stats.evictions++;
    }
  }

  private drop(u: Unit, invalidated: boolean): void {
    if (u.dead) return;
    u.dead = true;
    this.units.delete(u);
    this.bytes -= u.bytes;
    this.stats.cacheBytes = this.bytes;
    if (invalidated) this.stats.invalidations++;
    const jp = (u.opsRef as OpsArray).jit;
    if (jp && jp.unit === u) jp.unit = null;
  }
}

/** PC += 4 (a helper instruction that did not branch, before the unit exits). */
function advance(cpu: CpuState): void {
  const n = cpu.pcLo + 4;
  if (n >= 4294967296) {
    cpu.pcLo = n - 4294967296;
    cpu.pcHi = (cpu.pcHi + 1) >>> 0;
  } else cpu.pcLo = n;
}
