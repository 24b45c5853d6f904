// A checkpoint of the object graph that holds a VM's state, restored in place. Every object
// reachable from the roots keeps its identity; restoring puts back each one's own data properties,
// array elements, Map/Set entries (in their order) and typed-array bytes as they were. Closures and
// listeners that captured those objects therefore see the restored state, and objects made after
// the checkpoint fall away. What is not state is left alone: functions, WebAssembly objects, views
// of the machine's host memory (saved frame by frame, host_frames.ts), frozen objects (immutable)
// and what the policy calls opaque (shared decoders, caches rebuilt on demand).

export interface HeapPolicy {
  /** Objects kept by reference and never looked into. */
  opaque(o: object): boolean;
  /**
   * Properties that are not saved: "drop" for caches (set to null on restore, rebuilt on demand),
   * "keep" for observers attached from outside (left as they are on restore).
   */
  transient(o: object, key: string | symbol): "drop" | "keep" | null;
  /** The host-memory buffer: views of it are not copied. */
  hostBuffer: ArrayBufferLike | null;
}

const enum Kind {
  Record,
  Array,
  Map,
  Set,
  Bytes,
}

type Saved =
  | { k: Kind.Record; keys: (string | symbol)[]; vals: unknown[]; drop: (string | symbol)[] | null; keep: (string | symbol)[] | null }
  | { k: Kind.Array; vals: unknown[] }
  | { k: Kind.Map; keys: unknown[]; vals: unknown[] }
  | { k: Kind.Set; vals: unknown[] }
  | { k: Kind.Bytes; bytes: Uint8Array };

export interface HeapImage {
  readonly saved: Map<object, Saved>;
  /** Bytes of the copies (typed arrays and property slots, 8 bytes a slot), for reporting. */
  readonly bytes: number;
}

/** Not state: code, WebAssembly objects, promises. */
function isAtom(o: object): boolean {
  return (
    typeof o === "function" ||
    o instanceof WebAssembly.Memory ||
    o instanceof WebAssembly.Module ||
    o instanceof WebAssembly.Instance ||
    o instanceof Promise ||
    o instanceof WeakMap ||
    o instanceof WeakSet
  );
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Push the objects among `vals` that are not saved yet. */
function pushObjects(stack: unknown[], saved: Map<object, Saved>, vals: readonly unknown[]): void {
  for (const v of vals) if (v !== null && typeof v === "object" && !saved.has(v)) stack.push(v);
}

/**
 * A record's own data properties (class fields are own, enumerable and plain). Properties the
 * policy names transient are listed apart.
 */
function saveRecord(o: object, policy: HeapPolicy): Extract<Saved, { k: Kind.Record }> {
  const keys: string[] = [];
  const vals: unknown[] = [];
  let drop: string[] | null = null;
  let keep: string[] | null = null;
  const r = o as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    const t = policy.transient(o, key);
    if (t === "drop") (drop ??= []).push(key);
    else if (t === "keep") (keep ??= []).push(key);
    else {
      keys.push(key);
      vals.push(r[key]);
    }
  }
  return { k: Kind.Record, keys, vals, drop, keep };
}

/**
 * Checkpoint everything reachable from `roots`. Where an object is as it was in `prev` (an earlier
 * checkpoint of the same graph), its saved copy is shared, so a checkpoint costs memory for what
 * changed since.
 */
export function captureHeap(roots: readonly object[], policy: HeapPolicy, prev: HeapImage | null = null): HeapImage {
  const saved = new Map<object, Saved>();
  const stack: unknown[] = [...roots];
  let bytes = 0;
  while (stack.length > 0) {
    const o = stack.pop() as object;
    if (saved.has(o) || isAtom(o) || policy.opaque(o)) continue;
    const before = prev?.saved.get(o);
    let s: Saved;
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) {
      if (ArrayBuffer.isView(o) && o.buffer === policy.hostBuffer) continue;
      const now = ArrayBuffer.isView(o) ? viewBytes(o) : new Uint8Array(o);
      if (before?.k === Kind.Bytes && sameBytes(before.bytes, now)) s = before;
      else {
        s = { k: Kind.Bytes, bytes: now.slice() };
        bytes += now.byteLength;
      }
    } else if (Array.isArray(o)) {
      if (before?.k === Kind.Array && sameValues(before.vals, o)) s = before;
      else {
        s = { k: Kind.Array, vals: o.slice() };
        bytes += 8 * o.length;
      }
      pushObjects(stack, saved, s.vals);
    } else if (o instanceof Map) {
      const keys = [...o.keys()];
      const vals = [...o.values()];
      if (before?.k === Kind.Map && sameValues(before.keys, keys) && sameValues(before.vals, vals)) s = before;
      else {
        s = { k: Kind.Map, keys, vals };
        bytes += 16 * keys.length;
      }
      pushObjects(stack, saved, keys);
      pushObjects(stack, saved, vals);
    } else if (o instanceof Set) {
      const vals = [...o];
      if (before?.k === Kind.Set && sameValues(before.vals, vals)) s = before;
      else {
        s = { k: Kind.Set, vals };
        bytes += 8 * vals.length;
      }
      pushObjects(stack, saved, vals);
    } else if (Object.isFrozen(o)) {
      // A frozen object cannot change: only what it points to is saved.
      s = FROZEN;
      pushObjects(stack, saved, Object.values(o));
    } else {
      const r = saveRecord(o, policy);
      if (before?.k === Kind.Record && sameValues(before.keys, r.keys) && sameValues(before.vals, r.vals)) s = before;
      else {
        s = r;
        bytes += 8 * r.keys.length;
      }
      pushObjects(stack, saved, r.vals);
    }
    saved.set(o, s);
  }
  return { saved, bytes };
}

const FROZEN: Saved = { k: Kind.Record, keys: [], vals: [], drop: null, keep: null };

function sameKeys(a: readonly (string | symbol)[], b: readonly (string | symbol)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function restoreRecord(o: Record<string | symbol, unknown>, s: Extract<Saved, { k: Kind.Record }>): void {
  if (s === FROZEN) return;
  const now = Object.keys(o).filter((k) => !(s.drop?.includes(k) ?? false) && !(s.keep?.includes(k) ?? false));
  // Insertion order is observable (Object.keys): rebuild the object when it differs.
  if (!sameKeys(now, s.keys)) for (const k of now) delete o[k];
  for (let i = 0; i < s.keys.length; i++) o[s.keys[i]!] = s.vals[i];
  if (s.drop) for (const k of s.drop) o[k] = null;
}

/** Put every checkpointed object back as it was. */
export function restoreHeap(image: HeapImage): void {
  for (const [o, s] of image.saved) {
    switch (s.k) {
      case Kind.Record:
        restoreRecord(o as Record<string | symbol, unknown>, s);
        break;
      case Kind.Array: {
        const a = o as unknown[];
        a.length = s.vals.length;
        for (let i = 0; i < s.vals.length; i++) a[i] = s.vals[i];
        break;
      }
      case Kind.Map: {
        const m = o as Map<unknown, unknown>;
        m.clear();
        for (let i = 0; i < s.keys.length; i++) m.set(s.keys[i], s.vals[i]);
        break;
      }
      case Kind.Set: {
        const st = o as Set<unknown>;
        st.clear();
        for (const v of s.vals) st.add(v);
        break;
      }
      case Kind.Bytes:
        if (ArrayBuffer.isView(o)) viewBytes(o).set(s.bytes);
        else new Uint8Array(o as ArrayBuffer).set(s.bytes);
        break;
    }
  }
}

/**
 * The graph as lines `path = value` in a fixed order (objects numbered by first sight), for
 * comparing two VMs' states and fingerprinting one: two states are the same exactly when their
 * lines are. Transient properties and opaque objects are left out; host-memory views are named by
 * their place in host memory.
 */
export function describeHeap(roots: readonly object[], policy: HeapPolicy, emit: (line: string) => void): void {
  const ids = new Map<object, number>();
  const stack: [unknown, string][] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i], `root${i}`]);
  const value = (v: unknown, path: string): string => {
    if (v === null || v === undefined) return String(v);
    switch (typeof v) {
      case "bigint":
        return `${v}n`;
      case "string":
        return JSON.stringify(v);
      case "function":
        return `fn ${v.name}`;
      case "object": {
        if (isAtom(v)) return `atom ${v.constructor.name}`;
        if (policy.opaque(v)) return `opaque ${v.constructor?.name ?? ""}`;
        if (ArrayBuffer.isView(v) && v.buffer === policy.hostBuffer) return `host ${v.constructor.name} @${v.byteOffset}+${v.byteLength}`;
        const id = ids.get(v);
        if (id !== undefined) return `#${id}`;
        stack.push([v, path]);
        return `-> ${path}`;
      }
      default:
        return String(v);
    }
  };
  while (stack.length > 0) {
    const [o, path] = stack.pop() as [object, string];
    if (ids.has(o)) continue;
    ids.set(o, ids.size);
    const head = `${path} #${ids.get(o)} ${o.constructor?.name ?? "null"}`;
    const out: string[] = [];
    const field = (k: string, v: unknown): void => {
      out.push(`${path}${k} = ${value(v, path + k)}`);
    };
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) {
      emit(`${head} [${Array.from(ArrayBuffer.isView(o) ? viewBytes(o) : new Uint8Array(o)).join(",")}]`);
      continue;
    }
    emit(head);
    if (Array.isArray(o)) for (let i = 0; i < o.length; i++) field(`[${i}]`, o[i]);
    else if (o instanceof Map) {
      let i = 0;
      for (const [k, v] of o) {
        field(`{k${i}}`, k);
        field(`{${i++}}`, v);
      }
    } else if (o instanceof Set) {
      let i = 0;
      for (const v of o) field(`{${i++}}`, v);
    } else {
      for (const key of Object.keys(o)) if (policy.transient(o, key) === null) field(`.${key}`, (o as Record<string, unknown>)[key]);
    }
    for (const line of out) emit(line);
  }
}
