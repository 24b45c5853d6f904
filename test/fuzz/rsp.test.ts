// Fuzzing the GDB remote protocol: the packet decoder on random bytes and on valid packets split
// anywhere, and the stub over a real debug session on random packet streams. The decoder never
// throws and holds at most PacketSize bytes; the stub answers every complete packet, the target
// fails only with errors meant for a user, and a valid packet afterwards is still served.

import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { frame, PacketDecoder, type Incoming } from "../../debug/gdb/packet.ts";
import { GdbStub, PACKET_SIZE } from "../../debug/gdb/stub.ts";
import { SessionTarget } from "../../debug/gdb/session_target.ts";
import type { GdbTarget } from "../../debug/gdb/target.ts";
import { DebugSession } from "../../debug/session.ts";
import { FUZZ_SEED, fuzzRuns, Tally } from "./tally.ts";
import { EDGE_NUMBERS, withinWallTime } from "./mutate.ts";

const HEX = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 72n) - 1n }).map((v) => v.toString(16)),
  fc.constantFrom("0", "40000000", "40100000", "48000000", "ffffffffffffffff", "10000000000000000", "-1", "", "zz", "0x10", "4000", "2001", "7fffffff"),
);
const GARBAGE = fc.string({ maxLength: 12, unit: "binary-ascii" });
const ARG = fc.oneof(HEX, GARBAGE, fc.constantFrom(...EDGE_NUMBERS));

/** Packet data gdb could send, with plausible and implausible arguments. */
const PACKET_DATA: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("?", "g", "qC", "qAttached", "qfThreadInfo", "qsThreadInfo", "qSymbol::", "vCont?", "vMustReplyEmpty", "H g0", "Hg1", "Hc-1", "D", "s", "vCont;s", "vCont;s:1", "qSupported:multiprocess+;swbreak+", "qXfer:features:read:target.xml:0,fff", "QStartNoAckMode", "qThreadExtraInfo,1", "bs", "bc", "!", "R00", "vRun;"),
  fc.tuple(fc.constantFrom("m", "M", "X"), ARG, ARG, fc.option(ARG)).map(([c, a, l, d]) => `${c}${a},${l}${d === null ? "" : ":" + d}`),
  fc.tuple(fc.constantFrom("p", "P"), ARG, fc.option(ARG)).map(([c, n, v]) => `${c}${n}${v === null ? "" : "=" + v}`),
  fc.tuple(fc.constantFrom("Z", "z"), fc.constantFrom("0", "1", "2", "9", ""), ARG, ARG).map(([c, t, a, k]) => `${c}${t},${a},${k}`),
  fc.tuple(fc.constantFrom("c", "C", "s", "S"), fc.option(ARG)).map(([c, a]) => c + (a ?? "")),
  fc.tuple(fc.constantFrom("vCont;", "vCont;c:", "vCont;C", "vCont;S", "T", "qXfer:features:read:", "qXfer:features:read:target.xml:", "qRcmd,", "vKill;", "H"), ARG).map(([p, a]) => p + a),
  fc.tuple(fc.constantFrom("qRcmd,"), fc.string({ maxLength: 30 })).map(([p, s]) => p + Buffer.from(s).toString("hex")),
  fc.constantFrom("G", "G00", "G" + "0".repeat(2000), "P1f=" + "ff".repeat(9), "m0,2001", "M40000000,1:zz", "X40000000,2:}"),
  fc.string({ maxLength: 40, unit: "binary-ascii" }).filter((s) => !/^k/.test(s)),
);

/** Escape the framing bytes as gdb does; `*` is run-length and never appears raw in gdb's packets. */
const escape = (d: string): string => d.replace(/[$#}*]/g, (c) => "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20));

/** A stream element: a valid packet, one with a bad checksum, a truncated one, an oversize one, noise. */
const STREAM_ITEM = fc.oneof(
  { weight: 8, arbitrary: PACKET_DATA.map((d) => frame(escape(d))) },
  fc.constantFrom("+", "-", "\x03", "###", "$", "$#", "}", "*", "$*#2a"),
  PACKET_DATA.map((d) => `$${escape(d)}#zz`),
  PACKET_DATA.map((d) => `$${escape(d)}`),
  fc.constantFrom(frame("m" + "0".repeat(PACKET_SIZE)), "$" + "a".repeat(PACKET_SIZE + 5), "$" + "b".repeat(PACKET_SIZE + 1) + "#00"),
  fc.string({ maxLength: 16, unit: "binary-ascii" }),
);

/** `text` cut at the given fractions of its length, in order. */
function split(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * text.length)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const i of at) {
    out.push(text.slice(prev, i));
    prev = i;
  }
  out.push(text.slice(prev));
  return out;
}

describe("fuzz: RSP packet decoder", () => {
  it("random bytes: never throws, holds at most PacketSize + 2 bytes", () => {
    const tally = new Tally();
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 64, unit: "binary-ascii" }), STREAM_ITEM), { maxLength: 20 }), (chunks) => {
        const d = new PacketDecoder(PACKET_SIZE);
        let items = 0;
        for (const c of chunks) {
          items += d.push(c).length;
          expect(d.buffered).toBeLessThanOrEqual(PACKET_SIZE + 2);
        }
        tally.count(items > 0 ? "decoded" : "nothing");
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(1000) },
    );
    tally.report("rsp-packets");
  });

  it("a valid stream split at every position decodes as it does whole", () => {
    const tally = new Tally();
    fc.assert(
      fc.property(fc.array(STREAM_ITEM, { minLength: 1, maxLength: 6 }), (items) => {
        const stream = items.join("");
        const whole = new PacketDecoder(PACKET_SIZE).push(stream);
        // Every single cut point, and byte by byte.
        for (let i = 0; i <= stream.length; i += Math.max(1, Math.floor(stream.length / 64))) {
          const d = new PacketDecoder(PACKET_SIZE);
          expect([...d.push(stream.slice(0, i)), ...d.push(stream.slice(i))]).toEqual(whole);
        }
        if (stream.length < 4096) {
          const d = new PacketDecoder(PACKET_SIZE);
          const got: Incoming[] = [];
          for (const ch of stream) got.push(...d.push(ch));
          expect(got).toEqual(whole);
        }
        tally.count(whole.some((i) => i.kind === "packet") ? "with-packets" : "without");
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(300) },
    );
    tally.report("rsp-packets:split");
  });
});

/** JavaScript's own error classes: thrown by a target, they are a bug, not an answer for gdb. */
const isInternal = (e: unknown): boolean => e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError || !(e instanceof Error);

/** The target with every method watched: internal errors are recorded (the stub turns them into E01). */
function watched(target: GdbTarget, internal: string[]): GdbTarget {
  return new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const note = (e: unknown) => {
          if (isInternal(e)) internal.push(`${String(key)}(${args.map(String).join(", ")}): ${(e as Error)?.stack ?? String(e)}`);
          throw e;
        };
        try {
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          return r instanceof Promise ? r.catch(note) : r;
        } catch (e) {
          return note(e);
        }
      };
    },
  });
}

describe("fuzz: RSP streams on a real debug session", () => {
  let l1: Image;
  let l2: Image;
  beforeAll(async () => {
    l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
    l2 = await assembleFile("guests/l2/hello.S", { base: 0x4800_0000n });
  });

  it("every complete packet is answered, the stub never throws and keeps serving", async () => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(
        fc.array(STREAM_ITEM, { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        async (items, cuts) => {
          const session = await DebugSession.open({ vm: { l1, l2: [{ image: l2, ipa: 0x4800_0000n }] } });
          const internal: string[] = [];
          const target = watched(new SessionTarget(session, { maxSteps: 20_000, chunk: 5_000 }), internal);
          const replies: string[] = [];
          const decoder = new PacketDecoder();
          const stub = new GdbStub(target, (b) => {
            for (const it of decoder.push(b)) if (it.kind === "packet" && !/^O[0-9a-f]+$/.test(it.data)) replies.push(it.data);
          });
          const stream = items.join("");
          // What the stub should answer: each packet (but `k`, which ends the session, and `R` in
          // extended mode, a restart without a reply) and each oversize one.
          let extended = false;
          const expected = new PacketDecoder(PACKET_SIZE).push(stream).filter((i) => {
            if (i.kind === "packet" && i.data === "!") extended = true;
            return (i.kind === "packet" && !i.data.startsWith("k") && !(extended && i.data.startsWith("R"))) || i.kind === "oversize";
          });
          await withinWallTime("stream", 20_000, async () => {
            for (const chunk of split(stream, cuts)) stub.receive(chunk);
            await stub.idle();
          });
          expect(internal, internal.join("\n")).toEqual([]);
          // A stream may end inside a packet: a later `$` starts over, so `?` is always answered.
          const before = replies.length;
          stub.receive("#00" + frame("?"));
          await stub.idle();
          expect(replies.length - before, "the stub answers '?' after the stream").toBeGreaterThanOrEqual(1);
          expect(replies.at(-1)).toMatch(/^(T[0-9a-f]{2}|W[0-9a-f]{2}|X[0-9a-f]{2})/);
          expect(before).toBe(expected.length);
          for (const r of replies.slice(0, before)) tally.count(r === "" ? "empty" : r === "OK" ? "OK" : /^E/.test(r) ? "error" : "data");
          await stub.disconnect();
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(150) },
    );
    tally.report("rsp-streams");
  });
});
