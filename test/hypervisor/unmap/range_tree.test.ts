import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HostError } from "../../../hypervisor/errors.ts";
import { isReservedValue, RANGE_INDEX_MAX, type RangeEntry, RangeTree, ReservedValueError } from "../../../hypervisor/unmap/range_tree.ts";

const e = (index: bigint, last: bigint, value: bigint): RangeEntry => ({ index, last, value });

function tree(...ranges: [bigint, bigint, bigint][]): RangeTree {
  const t = new RangeTree();
  for (const [a, b, v] of ranges) t.store(a, b, v);
  return t;
}

describe("RangeTree store", () => {
  it("storeInGap stores like store into an empty gap, with the same checks", () => {
    const t = tree([0x1000n, 0x1fffn, 5n]);
    const u = tree([0x1000n, 0x1fffn, 5n]);
    t.storeInGap(0x3000n, 0x3fffn, 7n);
    u.store(0x3000n, 0x3fffn, 7n);
    expect(t.entries()).toEqual(u.entries());
    expect(() => t.storeInGap(0x5000n, 0x4fffn, 1n)).toThrow(HostError);
    expect(() => t.storeInGap(0x5000n, 0x5fffn, 0n)).toThrow(/use erase/);
  });

  it("splits a range overwritten at its left end, keeping the old value on the right", () => {
    const t = tree([0x1000n, 0x1fffn, 5n]);
    t.store(0x1000n, 0x13ffn, 9n);
    expect(t.entries()).toEqual([e(0x1000n, 0x13ffn, 9n), e(0x1400n, 0x1fffn, 5n)]);
  });

  it("splits a range overwritten at its right end, keeping the old value on the left", () => {
    const t = tree([0x1000n, 0x1fffn, 5n]);
    t.store(0x1c00n, 0x1fffn, 9n);
    expect(t.entries()).toEqual([e(0x1000n, 0x1bffn, 5n), e(0x1c00n, 0x1fffn, 9n)]);
  });

  it("splits a range overwritten in the middle into two survivors", () => {
    const t = tree([0x1000n, 0x1fffn, 5n]);
    t.store(0x1400n, 0x17ffn, 9n);
    expect(t.entries()).toEqual([e(0x1000n, 0x13ffn, 5n), e(0x1400n, 0x17ffn, 9n), e(0x1800n, 0x1fffn, 5n)]);
    expect(t.size).toBe(3);
  });

  it("replaces an exactly matching range", () => {
    const t = tree([0x1000n, 0x1fffn, 5n]);
    t.store(0x1000n, 0x1fffn, 9n);
    expect(t.entries()).toEqual([e(0x1000n, 0x1fffn, 9n)]);
  });

  it("swallows ranges inside and trims ranges straddling the stored one", () => {
    const t = tree([0n, 9n, 5n], [10n, 19n, 7n], [20n, 29n, 9n], [30n, 39n, 11n]);
    t.store(5n, 34n, 13n);
    expect(t.entries()).toEqual([e(0n, 4n, 5n), e(5n, 34n, 13n), e(35n, 39n, 11n)]);
  });

  it("keeps adjacent ranges with equal values separate", () => {
    const t = tree([0n, 9n, 5n], [10n, 19n, 5n]);
    expect(t.entries()).toEqual([e(0n, 9n, 5n), e(10n, 19n, 5n)]);
    expect(t.load(9n)).toEqual(e(0n, 9n, 5n));
    expect(t.load(10n)).toEqual(e(10n, 19n, 5n));
  });

  it("holds single-index ranges", () => {
    const t = tree([7n, 7n, 3n]);
    expect(t.load(6n)).toBeNull();
    expect(t.load(7n)).toEqual(e(7n, 7n, 3n));
    expect(t.load(8n)).toBeNull();
  });

  it("covers the whole 64-bit index space and splits it at both ends", () => {
    const t = tree([0n, RANGE_INDEX_MAX, 5n]);
    expect(t.load(0n)).toEqual(e(0n, RANGE_INDEX_MAX, 5n));
    expect(t.load(RANGE_INDEX_MAX)).toEqual(e(0n, RANGE_INDEX_MAX, 5n));
    t.store(0n, 0n, 9n);
    t.store(RANGE_INDEX_MAX, RANGE_INDEX_MAX, 13n);
    expect(t.entries()).toEqual([e(0n, 0n, 9n), e(1n, RANGE_INDEX_MAX - 1n, 5n), e(RANGE_INDEX_MAX, RANGE_INDEX_MAX, 13n)]);
    expect(t.findFirst(RANGE_INDEX_MAX, RANGE_INDEX_MAX)).toEqual(e(RANGE_INDEX_MAX, RANGE_INDEX_MAX, 13n));
    expect(t.eraseRange(0n, RANGE_INDEX_MAX)).toBe(3);
    expect(t.size).toBe(0);
  });

  it("rejects reserved values, naming the value and the rule, and leaves the tree unchanged", () => {
    const t = tree([0n, 9n, 5n]);
    let caught: unknown;
    try {
      t.store(0n, 3n, 0x402n);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ReservedValueError);
    expect(caught).toBeInstanceOf(HostError);
    expect((caught as ReservedValueError).value).toBe(0x402n);
    expect((caught as Error).message).toContain("0x402");
    expect((caught as Error).message).toContain("(v & 3) == 2");
    expect((caught as Error).message).toContain("4096");
    expect(t.entries()).toEqual([e(0n, 9n, 5n)]);
  });

  it("classifies reserved values as the maple tree does", () => {
    expect(isReservedValue(2n)).toBe(true);
    expect(isReservedValue(4094n)).toBe(true);
    expect(isReservedValue(4098n)).toBe(false); // internal-looking but above the reserved range
    expect(isReservedValue(1n)).toBe(false);
    expect(isReservedValue(3n)).toBe(false);
    expect(isReservedValue(4n)).toBe(false);
    expect(() => new RangeTree().store(0n, 0n, 4098n)).not.toThrow();
    expect(() => new RangeTree().store(0n, 0n, 1n)).not.toThrow();
  });

  it("refuses 0 (erase instead), non-64-bit values and malformed ranges", () => {
    const t = new RangeTree();
    expect(() => t.store(0n, 9n, 0n)).toThrow(/use erase/);
    expect(() => t.store(0n, 9n, 1n << 64n)).toThrow(HostError);
    expect(() => t.store(0n, 9n, -1n)).toThrow(HostError);
    expect(() => t.store(9n, 0n, 1n)).toThrow(HostError);
    expect(() => t.store(-1n, 0n, 1n)).toThrow(HostError);
    expect(() => t.store(0n, RANGE_INDEX_MAX + 1n, 1n)).toThrow(HostError);
    expect(t.size).toBe(0);
  });

  it("hands out copies: changing a returned entry does not change the tree", () => {
    const t = tree([0n, 9n, 5n]);
    const got = t.load(3n)!;
    got.last = 100n;
    got.value = 7n;
    expect(t.load(3n)).toEqual(e(0n, 9n, 5n));
  });
});

describe("RangeTree queries", () => {
  const t = tree([10n, 19n, 1n], [20n, 29n, 3n], [40n, 49n, 5n]);

  it("load finds the range containing an index, at both boundaries, and nothing in gaps", () => {
    expect(t.load(9n)).toBeNull();
    expect(t.load(10n)).toEqual(e(10n, 19n, 1n));
    expect(t.load(19n)).toEqual(e(10n, 19n, 1n));
    expect(t.load(20n)).toEqual(e(20n, 29n, 3n));
    expect(t.load(30n)).toBeNull();
    expect(t.load(39n)).toBeNull();
    expect(t.load(49n)).toEqual(e(40n, 49n, 5n));
    expect(t.load(50n)).toBeNull();
  });

  it("findFirst returns the lowest intersecting range, including one starting before a", () => {
    expect(t.findFirst(0n, 9n)).toBeNull();
    expect(t.findFirst(0n, 10n)).toEqual(e(10n, 19n, 1n));
    expect(t.findFirst(19n, 100n)).toEqual(e(10n, 19n, 1n));
    expect(t.findFirst(29n, 29n)).toEqual(e(20n, 29n, 3n));
    expect(t.findFirst(30n, 39n)).toBeNull();
    expect(t.findFirst(30n, 40n)).toEqual(e(40n, 49n, 5n));
    expect(t.findFirst(50n, RANGE_INDEX_MAX)).toBeNull();
    expect(t.findFirst(20n, 10n)).toBeNull();
  });

  it("intersecting lists ranges in order, touching ones included, gaps excluded", () => {
    expect(t.intersecting(19n, 40n)).toEqual([e(10n, 19n, 1n), e(20n, 29n, 3n), e(40n, 49n, 5n)]);
    expect(t.intersecting(20n, 39n)).toEqual([e(20n, 29n, 3n)]);
    expect(t.intersecting(30n, 39n)).toEqual([]);
    expect(t.intersecting(0n, RANGE_INDEX_MAX)).toHaveLength(3);
    expect(t.intersecting(40n, 30n)).toEqual([]);
  });
});

describe("RangeTree removal", () => {
  it("erase removes the whole range containing the index", () => {
    const t = tree([10n, 19n, 1n], [20n, 29n, 3n]);
    expect(t.erase(15n)).toEqual(e(10n, 19n, 1n));
    expect(t.erase(15n)).toBeNull();
    expect(t.erase(5n)).toBeNull();
    expect(t.entries()).toEqual([e(20n, 29n, 3n)]);
  });

  it("eraseRange removes every intersecting range whole, without trimming", () => {
    const t = tree([0n, 9n, 1n], [10n, 19n, 3n], [20n, 29n, 5n], [40n, 49n, 7n]);
    expect(t.eraseRange(9n, 20n)).toBe(3);
    expect(t.entries()).toEqual([e(40n, 49n, 7n)]);
    expect(t.eraseRange(30n, 39n)).toBe(0);
    expect(t.eraseRange(49n, 49n)).toBe(1);
    expect(t.size).toBe(0);
  });

  it("clear empties the tree", () => {
    const t = tree([0n, 9n, 1n], [10n, 19n, 3n]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.load(0n)).toBeNull();
    t.store(0n, 0n, 1n);
    expect(t.size).toBe(1);
  });
});

/**
 * Independent model: one cell per index of a small window, each holding (range id, value) or
 * null. A store gives its cells a fresh id; when it cuts a range in two, the right remainder gets
 * a fresh id too, so every stored range is a maximal run of one id.
 */
class CellModel {
  cells: ({ id: number; value: bigint } | null)[];
  private nextId = 1;

  constructor(
    readonly base: bigint,
    readonly n: number,
  ) {
    this.cells = new Array(n).fill(null);
  }

  store(a: number, b: number, value: bigint): void {
    const cutLeft = a > 0 ? this.cells[a - 1] : null;
    const after = b + 1 < this.n ? this.cells[b + 1] : null;
    if (cutLeft && after && cutLeft.id === after.id) {
      const id = this.nextId++;
      for (let i = b + 1; i < this.n && this.cells[i]?.id === after.id; i++) this.cells[i] = { id, value: after.value };
    }
    const id = this.nextId++;
    for (let i = a; i <= b; i++) this.cells[i] = { id, value };
  }

  erase(i: number): void {
    const c = this.cells[i];
    if (!c) return;
    for (let j = 0; j < this.n; j++) if (this.cells[j]?.id === c.id) this.cells[j] = null;
  }

  eraseRange(a: number, b: number): number {
    const ids = new Set<number>();
    for (let i = a; i <= b; i++) if (this.cells[i]) ids.add(this.cells[i]!.id);
    for (let j = 0; j < this.n; j++) if (this.cells[j] && ids.has(this.cells[j]!.id)) this.cells[j] = null;
    return ids.size;
  }

  entries(): RangeEntry[] {
    const out: RangeEntry[] = [];
    for (let i = 0; i < this.n; i++) {
      const c = this.cells[i];
      if (!c) continue;
      let j = i;
      while (j + 1 < this.n && this.cells[j + 1]?.id === c.id) j++;
      out.push(e(this.base + BigInt(i), this.base + BigInt(j), c.value));
      i = j;
    }
    return out;
  }
}

type Op =
  | { kind: "store"; a: number; b: number; value: bigint }
  | { kind: "erase"; i: number }
  | { kind: "eraseRange"; a: number; b: number };

const N = 24;
const idx = fc.integer({ min: 0, max: N - 1 });
const span = fc.tuple(idx, idx).map(([x, y]): [number, number] => (x <= y ? [x, y] : [y, x]));
// Few distinct values so equal neighbours are common; 2 and 6 are reserved and must be refused.
const value = fc.constantFrom(1n, 3n, 5n, 2n, 6n, 0x1002n, RANGE_INDEX_MAX);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(span, value).map(([[a, b], v]) => ({ kind: "store" as const, a, b, value: v })) },
  { weight: 1, arbitrary: idx.map((i) => ({ kind: "erase" as const, i })) },
  { weight: 1, arbitrary: span.map(([a, b]) => ({ kind: "eraseRange" as const, a, b })) },
);

function checkAgainst(t: RangeTree, m: CellModel): void {
  const want = m.entries();
  expect(t.entries()).toEqual(want);
  expect(t.size).toBe(want.length);
  const at = (i: number) => m.base + BigInt(i);
  const containing = (i: number) => want.find((r) => r.index <= at(i) && at(i) <= r.last) ?? null;
  for (let i = 0; i < N; i++) expect(t.load(at(i))).toEqual(containing(i));
  // Every [a, b] of the window; expect() only on a mismatch, to keep the property test fast.
  for (let a = 0; a < N; a++) {
    for (let b = a; b < N; b++) {
      const hit = want.filter((r) => r.last >= at(a) && r.index <= at(b));
      const got = t.intersecting(at(a), at(b));
      if (key(got) !== key(hit)) expect({ a, b, got }).toEqual({ a, b, got: hit });
      const first = t.findFirst(at(a), at(b));
      if (key(first ? [first] : []) !== key(hit.slice(0, 1))) expect({ a, b, first }).toEqual({ a, b, first: hit[0] ?? null });
    }
  }
}

const key = (rs: readonly RangeEntry[]) => rs.map((r) => `${r.index}-${r.last}=${r.value}`).join(",");

describe("RangeTree against a per-index model", () => {
  // Windows at both ends of the index space, so index 0 and ULONG_MAX are exercised.
  for (const base of [0n, 0x4000_0000n, RANGE_INDEX_MAX - BigInt(N - 1)]) {
    it(`agrees on every query after random operations (window at 0x${base.toString(16)})`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
          const t = new RangeTree();
          const m = new CellModel(base, N);
          for (const o of ops) {
            if (o.kind === "store") {
              if (isReservedValue(o.value)) {
                expect(() => t.store(base + BigInt(o.a), base + BigInt(o.b), o.value)).toThrow(ReservedValueError);
              } else {
                t.store(base + BigInt(o.a), base + BigInt(o.b), o.value);
                m.store(o.a, o.b, o.value);
              }
            } else if (o.kind === "erase") {
              const before = m.entries().find((r) => r.index <= base + BigInt(o.i) && base + BigInt(o.i) <= r.last) ?? null;
              expect(t.erase(base + BigInt(o.i))).toEqual(before);
              m.erase(o.i);
            } else {
              expect(t.eraseRange(base + BigInt(o.a), base + BigInt(o.b))).toBe(m.eraseRange(o.a, o.b));
            }
            checkAgainst(t, m);
          }
        }),
        { numRuns: 100, seed: 0x6d61706c },
      );
    });
  }
});
