// A small WebAssembly binary writer: just what the translator emits (one function per module,
// i32/i64/f64 locals, structured control, memory access, integer arithmetic). Opcodes and
// encodings are the WebAssembly core specification's (section 5, binary format).

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
const BLOCK_VOID = 0x40;

/** Opcodes the translator uses (WebAssembly core spec 5.4). */
export const OP = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i64_load: 0x29, f64_load: 0x2b,
  i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b,
  i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  f64_eq: 0x61,
  i32_clz: 0x67, i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e,
  i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76, i32_rotr: 0x78,
  i64_clz: 0x79, i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80,
  i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88, i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad, f64_convert_i64_u: 0xba,
} as const;

/** One function body under construction. */
export class Code {
  readonly bytes: number[] = [];

  op(...ops: number[]): this {
    for (const o of ops) this.bytes.push(o);
    return this;
  }

  u32(v: number): this {
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.bytes.push(b);
    } while (x !== 0);
    return this;
  }

  private sleb(v: bigint): this {
    let x = v;
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0);
      this.bytes.push(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  i32(v: number): this {
    return this.op(OP.i32_const).sleb(BigInt(v | 0));
  }

  i64(v: bigint): this {
    return this.op(OP.i64_const).sleb(BigInt.asIntN(64, v));
  }

  get(l: number): this {
    return this.op(OP.local_get).u32(l);
  }

  set(l: number): this {
    return this.op(OP.local_set).u32(l);
  }

  tee(l: number): this {
    return this.op(OP.local_tee).u32(l);
  }

  /** A load or store with its memarg (alignment hint 0: guest accesses may be unaligned in the host frame). */
  mem(opcode: number, offset: number): this {
    return this.op(opcode, 0).u32(offset);
  }

  block(): this {
    return this.op(OP.block, BLOCK_VOID);
  }

  loop(): this {
    return this.op(OP.loop, BLOCK_VOID);
  }

  if(): this {
    return this.op(OP.if, BLOCK_VOID);
  }

  /** `if` producing one value of `type`. */
  ifValue(type: number): this {
    return this.op(OP.if, type);
  }

  br(depth: number): this {
    return this.op(OP.br).u32(depth);
  }

  brIf(depth: number): this {
    return this.op(OP.br_if).u32(depth);
  }

  brTable(depths: readonly number[], otherwise: number): this {
    this.op(OP.br_table).u32(depths.length);
    for (const d of depths) this.u32(d);
    return this.u32(otherwise);
  }
}

function uleb(v: number): number[] {
  return new Code().u32(v).bytes;
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const it of items) for (const b of it) out.push(b);
  return out;
}

function funcType(params: readonly number[], results: readonly number[]): number[] {
  return [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
}

export interface FunctionSpec {
  params: readonly number[];
  results: readonly number[];
  /** Extra locals, by type, after the parameters. */
  locals: readonly number[];
  body: Code;
}

export interface ImportedFunction {
  module: string;
  name: string;
  params: readonly number[];
  results: readonly number[];
}

/**
 * A module that imports memory `e.m` (the machine's host memory) and the given functions, and
 * exports one function `f`. Imported functions are indices 0..n-1; `f` is index n.
 */
export function moduleBytes(fn: FunctionSpec, imports: readonly ImportedFunction[]): Uint8Array {
  const head: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]): void => {
    head.push(id, ...uleb(body.length));
    for (const b of body) head.push(b);
  };
  section(1, vec([...imports.map((i) => funcType(i.params, i.results)), funcType(fn.params, fn.results)]));
  const imps: number[][] = imports.map((imp, i) => [...name(imp.module), ...name(imp.name), 0x00, ...uleb(i)]);
  imps.push([...name("e"), ...name("m"), 0x02, 0x00, 0x01]);
  section(2, vec(imps));
  section(3, vec([uleb(imports.length)]));
  section(7, vec([[...name("f"), 0x00, ...uleb(imports.length)]]));
  // Locals are run-length encoded by type.
  const groups: [number, number][] = [];
  for (const t of fn.locals) {
    const last = groups[groups.length - 1];
    if (last && last[1] === t) last[0]++;
    else groups.push([1, t]);
  }
  const locals = vec(groups.map(([n, t]) => [...uleb(n), t]));
  const code = fn.body.bytes;
  const bodySize = locals.length + code.length + 1;
  const bodyLen = uleb(bodySize);
  const sectionBody = 1 + bodyLen.length + bodySize; // one function
  head.push(10, ...uleb(sectionBody), 1, ...bodyLen, ...locals);
  const out = new Uint8Array(head.length + code.length + 1);
  out.set(head);
  out.set(code, head.length);
  out[out.length - 1] = OP.end;
  return out;
}
