// The translated-code cache of one machine (shared by its vCPUs, as the pages are): units keyed by
// the page they were built from and the VA page they were built for. A unit belongs to the page's
// decoded-instruction array (Page.code lives and dies with it), so anything that drops that array
// (a write to the page, the page going away) drops the unit with it; the code map (memory.ts)
// makes translated stores to such a page take the interpreter's path, which does the dropping. The cache holds at most
// `limitBytes` of WebAssembly; past that the oldest units are dropped first.

import type { CpuState } from "../cpu_state.ts";
import type { Op } from "../decode.ts";
import type { Page, PhysMemory } from "../memory.ts";
import { envVar } from "../engine.ts";
import type { JitStats } from "./stats.ts";
import { generate, PAGE_SLOTS, plan } from "./translate.ts";

/**
 * Dispatches into a page before it is translated. NVLAB_JIT_HOT overrides it (1 translates on
 * first sight, which the test suite uses to run everything it can through translated code).
 */
export function defaultHotThreshold(): number {
  const env = envVar("NVLAB_JIT_HOT");
  const n = env === undefined || env === "" ? 16 : Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`NVLAB_JIT_HOT=${env}: expected a positive integer`);
  return n;
}
/** Translations of one page (new entries, rewritten code) before it is left to the interpreter. */
const MAX_COMPILES_PER_PAGE = 256;
export const DEFAULT_CACHE_BYTES = 32 << 20;
const HELPER_EXIT = 16;

export interface JitOptions {
  /** Bound of the machine's code cache in WebAssembly bytes (default DEFAULT_CACHE_BYTES). */
  cacheBytes?: number;
  /** Dispatches to an entry before it is translated (default 16, or NVLAB_JIT_HOT). */
  hot?: number;
}

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
  readonly helperOps: readonly Op[];
  readonly helperSlots: readonly number[];
  readonly bytes: number;
  dead: boolean;
}

/**
 * Per page (Page.code, which Page.written calls; dropped with the decoded-op array): the unit that has
 * a block starting at each slot, and the dispatch count of slots that have none yet. A new entry
 * gets its own unit (the code reachable from it) rather than a retranslation of the page.
 */
class PageJit {
  readonly unitAt = new Array<Unit | undefined>(PAGE_SLOTS);
  readonly heat = new Map<number, number>();
  readonly units: Unit[] = [];

  /** A line holding decoded code was written: every unit of the page is stale. */
  written(): void {
    for (const u of this.units) u.dead = true;
    this.units.length = 0;
    this.unitAt.fill(undefined);
  }
}

type Ops = (Op | undefined)[];

/** The interpreter side of a helper call: the CPU whose unit is running and its step count at entry. */
export interface Running {
  cpu: CpuState;
  steps0: number;
  /** A unit call is under way (a handler that throws leaves it set for the dispatcher's catch). */
  inUnit: boolean;
}

export class JitCache {
  private readonly units = new Set<Unit>();
  private readonly compilesOf = new WeakMap<Page, number>();
  private bytes = 0;
  readonly stats: JitStats;
  /** Set by the dispatcher before each unit call. */
  readonly running: Running = { cpu: null as unknown as CpuState, steps0: 0, inUnit: false };
  /** Block index for the unit `lookup` returned. */
  entry = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly decode: (page: Page, slot: number) => Op,
    readonly limitBytes = DEFAULT_CACHE_BYTES,
    private readonly hot = defaultHotThreshold(),
  ) {
    this.stats = {
      compiles: 0, instructions: 0, compileSeconds: 0, cacheBytes: 0, cacheLimitBytes: limitBytes,
      evictions: 0, invalidations: 0, jitInstructions: 0,
    };
  }

  private static readonly byMemory = new WeakMap<PhysMemory, JitCache>();

  /** The machine's cache; the first CPU to ask sets its bound and threshold (JitOptions). */
  static of(mem: PhysMemory, decode: (page: Page, slot: number) => Op, opts: JitOptions = {}): JitCache {
    let c = JitCache.byMemory.get(mem);
    if (!c) JitCache.byMemory.set(mem, (c = new JitCache(mem.host, decode, opts.cacheBytes, opts.hot)));
    return c;
  }

  /** The machine's cache if one was made. */
  static existing(mem: PhysMemory): JitCache | null {
    return JitCache.byMemory.get(mem) ?? null;
  }

  /** Drop every unit (the machine's memory and pages were put back to an earlier state). */
  dropAll(): void {
    for (const u of this.units) u.dead = true;
    this.units.clear();
    this.bytes = 0;
    this.stats.cacheBytes = 0;
  }

  /**
   * The unit to run at this PC (with `entry` set), or null: not hot yet, or a page left to the
   * interpreter.
   */
  lookup(page: Page, vpn: number, lo: number, hi: number): Unit | null {
    const ops = page.ops as Ops | null;
    if (ops === null) return null;
    let jp = page.code as PageJit | null;
    if (jp === null) page.code = jp = new PageJit();
    const slot = (lo & 0xfff) >>> 2;
    const u = jp.unitAt[slot];
    if (u !== undefined && u.vpn === vpn && !u.dead) {
      this.entry = u.blockAt[slot]!;
      return u;
    }
    const heat = (jp.heat.get(slot) ?? 0) + 1;
    jp.heat.set(slot, heat);
    if (heat < this.hot) return null;
    const n = this.compilesOf.get(page) ?? 0;
    if (n >= MAX_COMPILES_PER_PAGE) return null;
    this.compilesOf.set(page, n + 1);
    jp.heat.delete(slot);
    const nu = this.compile(page, ops, slot, vpn, lo, hi);
    jp.units.push(nu);
    for (let s = 0; s < PAGE_SLOTS; s++) {
      if (nu.blockAt[s]! < 0) continue;
      const old = jp.unitAt[s];
      if (old === undefined || old.dead || old.vpn !== vpn || s === slot) jp.unitAt[s] = nu;
    }
    const e = nu.blockAt[slot]!;
    if (e < 0) return null;
    this.entry = e;
    return nu;
  }

  private compile(page: Page, ops: Ops, entry: number, vpn: number, lo: number, hi: number): Unit {
    const t0 = performance.now();
    const vaLo = (lo & ~0xfff) >>> 0;
    const pageVa = (BigInt(hi) << 32n) | BigInt(vaLo);
    const decoded: Op[] = new Array<Op>(PAGE_SLOTS);
    const opAt = (s: number): Op => (decoded[s] ??= this.decode(page, s));
    const p = plan({ op: opAt, va: pageVa, entries: [entry] });
    const g = generate(p, decoded, pageVa);
    const running = this.running;
    const helperOps = g.helperOps;
    const helperSlots = g.helperSlots;
    const helperEnds = g.helperEnds;
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
      if (cpu.pcWritten || helperEnds[h] === 1 || unit.dead || page.ops !== ops || cpu.stopping) {
        if (!cpu.pcWritten) cpu.advancePc();
        r |= HELPER_EXIT;
      }
      return r;
    };
    // The emitter fills a fresh ArrayBuffer, never shared memory, as the DOM lib's BufferSource requires.
    const mod = new WebAssembly.Module(g.bytes as Uint8Array<ArrayBuffer>);
    const inst = new WebAssembly.Instance(mod, { h: { c: call }, e: { m: this.memory } });
    const unit: Unit = {
      fn: inst.exports.f as UnitFn, page, opsRef: ops, vpn, vaLo, vaHi: hi,
      blockAt: p.blockAt, helperOps, helperSlots, bytes: g.bytes.length, dead: false,
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
    for (const u of this.units) if (u.dead || u.page.ops !== u.opsRef) this.drop(u, true);
    for (const u of this.units) {
      if (this.bytes <= this.limitBytes) break;
      this.drop(u, false);
      this.stats.evictions++;
    }
  }

  private drop(u: Unit, invalidated: boolean): void {
    if (!this.units.delete(u)) return;
    u.dead = true;
    this.bytes -= u.bytes;
    this.stats.cacheBytes = this.bytes;
    if (invalidated) this.stats.invalidations++;
  }
}
