// The in-place checkpoint of an object graph: objects keep their identity, and restoring puts back
// their own properties (in their order), array elements, Map/Set entries in order and typed-array
// bytes; what the policy calls opaque, transient or host memory, frozen objects and closures are
// not looked into. describeHeap gives equal lines exactly for equal graphs.

import { describe, expect, it } from "vitest";
import { captureHeap, describeHeap, type HeapPolicy, restoreHeap } from "../../../lab/snapshot/heap.ts";

/** Nothing opaque or transient, no host memory. */
const PLAIN: HeapPolicy = { opaque: () => false, transient: () => null, hostBuffer: null };

function lines(roots: object[], policy: HeapPolicy = PLAIN): string[] {
  const out: string[] = [];
  describeHeap(roots, policy, (l) => out.push(l));
  return out;
}

describe("captureHeap / restoreHeap", () => {
  it("puts the same objects back, with their values", () => {
    const inner = { x: 1, big: 5n, s: "a" };
    const root = { inner, n: 0 };
    const image = captureHeap([root], PLAIN);
    root.inner = { x: 9, big: 0n, s: "b" };
    inner.x = 2;
    inner.big = 7n;
    inner.s = "z";
    root.n = 3;
    restoreHeap(image);
    expect(root.inner).toBe(inner);
    expect(inner).toEqual({ x: 1, big: 5n, s: "a" });
    expect(root.n).toBe(0);
  });

  it("drops properties added after the checkpoint and puts back deleted ones, in their order", () => {
    const o: Record<string, number> = { a: 1, b: 2, c: 3 };
    const image = captureHeap([o], PLAIN);
    delete o.a;
    o.d = 4;
    o.a = 5;
    restoreHeap(image);
    expect(Object.keys(o)).toEqual(["a", "b", "c"]);
    expect(o).toEqual({ a: 1, b: 2, c: 3 });
  });

  it("gives arrays back their length and elements, whether they grew or shrank", () => {
    const grew = [1, 2, 3];
    const shrank = [{ v: 1 }, { v: 2 }, { v: 3 }];
    const third = shrank[2]!;
    const image = captureHeap([{ grew, shrank }], PLAIN);
    grew.push(4, 5);
    grew[0] = 0;
    shrank.length = 1;
    third.v = 30;
    restoreHeap(image);
    expect(grew).toEqual([1, 2, 3]);
    expect(shrank).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(shrank[2]).toBe(third);
  });

  it("gives Maps and Sets back their entries in insertion order", () => {
    const key = { k: 1 };
    const m = new Map<unknown, string>([
      ["a", "A"],
      [key, "K"],
      ["c", "C"],
    ]);
    const s = new Set(["x", "y", "z"]);
    const image = captureHeap([{ m, s }], PLAIN);
    m.delete("a");
    m.set("a", "A2");
    m.set("d", "D");
    key.k = 2;
    s.delete("x");
    s.add("x");
    s.add("w");
    restoreHeap(image);
    expect([...m.entries()]).toEqual([
      ["a", "A"],
      [key, "K"],
      ["c", "C"],
    ]);
    expect(key.k).toBe(1);
    expect([...s]).toEqual(["x", "y", "z"]);
  });

  it("copies typed arrays and array buffers (not views of host memory)", () => {
    const host = new ArrayBuffer(16);
    const hostPolicy: HeapPolicy = { ...PLAIN, hostBuffer: host };
    const u8 = Uint8Array.of(1, 2, 3);
    const f64 = Float64Array.of(0.5, 1.5);
    const buf = new ArrayBuffer(4);
    new Uint8Array(buf).set([9, 9, 9, 9]);
    const hostView = new Uint32Array(host, 4, 2);
    const image = captureHeap([{ u8, f64, buf, hostView }], hostPolicy);
    expect(image.bytes).toBeGreaterThanOrEqual(3 + 16 + 4);
    u8[1] = 20;
    f64[0] = -1;
    new Uint8Array(buf)[3] = 0;
    hostView[0] = 77;
    restoreHeap(image);
    expect([...u8]).toEqual([1, 2, 3]);
    expect([...f64]).toEqual([0.5, 1.5]);
    expect([...new Uint8Array(buf)]).toEqual([9, 9, 9, 9]);
    // host memory is saved frame by frame elsewhere: the view is left alone
    expect(hostView[0]).toBe(77);
  });

  it("does not look into frozen objects, but restores what they point to", () => {
    const inner = { v: 1 };
    const frozen = Object.freeze({ inner, tag: "t" });
    const root = { frozen };
    const image = captureHeap([root], PLAIN);
    inner.v = 2;
    restoreHeap(image);
    expect(root.frozen).toBe(frozen);
    expect(inner.v).toBe(1);
  });

  it("keeps opaque objects by reference and leaves their contents alone", () => {
    class Cache {
      hits = 0;
    }
    const cache = new Cache();
    const policy: HeapPolicy = { ...PLAIN, opaque: (o) => o instanceof Cache };
    const root = { cache, n: 1 };
    const image = captureHeap([root], policy);
    cache.hits = 5;
    root.cache = new Cache();
    root.n = 2;
    restoreHeap(image);
    expect(root.cache).toBe(cache);
    expect(cache.hits).toBe(5);
    expect(root.n).toBe(1);
  });

  it("sets dropped properties to null and leaves kept ones as they are", () => {
    const root = { cached: { stale: true } as object | null, watchers: ["debugger"], state: 1 };
    const policy: HeapPolicy = { ...PLAIN, transient: (_o, key) => (key === "cached" ? "drop" : key === "watchers" ? "keep" : null) };
    const image = captureHeap([root], policy);
    const later = ["tracer"];
    root.watchers = later;
    root.state = 2;
    restoreHeap(image);
    expect(root.cached).toBeNull();
    expect(root.watchers).toBe(later);
    expect(root.state).toBe(1);
  });

  it("keeps functions by reference: state only a closure holds is not saved", () => {
    let hidden = 0;
    const root = { bump: () => ++hidden, visible: 0 };
    const bump = root.bump;
    const image = captureHeap([root], PLAIN);
    root.bump();
    root.visible = 1;
    root.bump = () => 0;
    restoreHeap(image);
    expect(root.bump).toBe(bump);
    expect(root.visible).toBe(0);
    // why the VM's state must live in objects reachable from the Kvm, not in captured `let`s
    expect(hidden).toBe(1);
  });

  it("can be restored again and again (the image is not used up)", () => {
    const root = { list: [1], m: new Map([[1, "one"]]), bytes: Uint8Array.of(1) };
    const image = captureHeap([root], PLAIN);
    for (let round = 0; round < 3; round++) {
      root.list.push(round);
      root.m.set(2 + round, "more");
      root.bytes[0] = 100 + round;
      restoreHeap(image);
      expect(root).toEqual({ list: [1], m: new Map([[1, "one"]]), bytes: Uint8Array.of(1) });
    }
  });

  it("shares unchanged objects' copies with the previous checkpoint, and both restore", () => {
    const same = { v: 1 };
    const changed = { v: 1 };
    const bytes = new Uint8Array(1000);
    const root = { same, changed, bytes };
    const first = captureHeap([root], PLAIN);
    changed.v = 2;
    const second = captureHeap([root], PLAIN, first);
    expect(second.saved.get(same)).toBe(first.saved.get(same));
    expect(second.saved.get(bytes)).toBe(first.saved.get(bytes));
    expect(second.saved.get(changed)).not.toBe(first.saved.get(changed));
    // only the changed record costs: no 1000-byte copy of the unchanged array
    expect(second.bytes).toBeLessThan(1000);
    changed.v = 3;
    restoreHeap(first);
    expect(changed.v).toBe(1);
    restoreHeap(second);
    expect(changed.v).toBe(2);
  });

  it("forgets objects made after the checkpoint: a restored graph no longer reaches them", () => {
    const root: { items: object[]; extra?: object } = { items: [] };
    const image = captureHeap([root], PLAIN);
    const late = { late: true };
    root.items.push(late);
    root.extra = late;
    restoreHeap(image);
    expect(root).toEqual({ items: [] });
    expect(lines([root]).some((l) => l.includes("late"))).toBe(false);
  });
});

describe("describeHeap", () => {
  const graph = () => {
    const shared = { v: 1n };
    return { a: shared, b: shared, list: [1, "x", null], m: new Map([["k", shared]]), bytes: Uint8Array.of(1, 2) };
  };

  it("gives equal lines for equal graphs, and tells a shared object from two equal ones", () => {
    const one = lines([graph()]);
    expect(lines([graph()])).toEqual(one);
    const unshared = { ...graph(), b: { v: 1n } };
    expect(lines([unshared])).not.toEqual(one);
  });

  it("differs where one value deep in the graph differs, and only there", () => {
    const g = graph();
    const before = lines([g]);
    g.m.get("k")!.v = 2n;
    const after = lines([g]);
    expect(after.length).toBe(before.length);
    const differing = before.filter((l, i) => l !== after[i]);
    expect(differing).toEqual(["root0.m{0}.v = 1n"]);
  });

  it("differs on a Map's order and on typed-array bytes", () => {
    const m1 = new Map([
      ["a", 1],
      ["b", 2],
    ]);
    const m2 = new Map([
      ["b", 2],
      ["a", 1],
    ]);
    expect(lines([m1])).not.toEqual(lines([m2]));
    expect(lines([Uint8Array.of(1, 2)])).not.toEqual(lines([Uint8Array.of(1, 3)]));
  });

  it("leaves out transient properties and does not look into opaque objects", () => {
    class Opaque {
      n = 1;
    }
    const policy: HeapPolicy = { opaque: (o) => o instanceof Opaque, transient: (_o, k) => (k === "cache" ? "drop" : null), hostBuffer: null };
    const a = { cache: 1, o: new Opaque(), v: 1 };
    const b = { cache: 2, o: new Opaque(), v: 1 };
    b.o.n = 5;
    expect(lines([a], policy)).toEqual(lines([b], policy));
    b.v = 2;
    expect(lines([a], policy)).not.toEqual(lines([b], policy));
  });

  it("names views of host memory by their place, not their bytes", () => {
    const host = new ArrayBuffer(64);
    const policy: HeapPolicy = { ...PLAIN, hostBuffer: host };
    const view = new Uint8Array(host, 8, 16);
    const before = lines([{ view }], policy);
    view[0] = 1;
    expect(lines([{ view }], policy)).toEqual(before);
    expect(before).toContain("root0.view = host Uint8Array @8+16");
  });
});
