import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Incoming, MAX_PACKET, PacketDecoder, checksum, escapeBinary, frame, fromHex, hexToText, parseHexNumber, textToHex, toHex, unescapeBinary,
} from "../../../debug/gdb/packet.ts";

describe("RSP framing", () => {
  it("checksums are the byte sum modulo 256 in two lower-case hex digits", () => {
    expect(checksum("")).toBe("00");
    expect(checksum("OK")).toBe("9a");
    expect(checksum("qSupported")).toBe("37");
    expect(checksum("\xff\x02")).toBe("01");
    expect(frame("OK")).toBe("$OK#9a");
  });

  it("decodes packets, acks, nacks and the interrupt byte in order", () => {
    const d = new PacketDecoder();
    expect(d.push("+$g#67-\x03$?#3f")).toEqual([
      { kind: "ack" }, { kind: "packet", data: "g" }, { kind: "nack" }, { kind: "interrupt" }, { kind: "packet", data: "?" },
    ]);
  });

  it("reassembles packets split across chunks, even inside the checksum", () => {
    const d = new PacketDecoder();
    const whole = frame("m40000000,4");
    const items = [...whole].flatMap((c) => d.push(c));
    expect(items).toEqual([{ kind: "packet", data: "m40000000,4" }]);
  });

  it("accepts upper-case checksum digits and reports a wrong checksum without the packet", () => {
    const d = new PacketDecoder();
    expect(d.push("$OK#9A")).toEqual([{ kind: "packet", data: "OK" }]);
    expect(d.push("$OK#00")).toEqual([{ kind: "bad-checksum", data: "OK" }]);
    expect(d.push("$OK#zz")).toEqual([{ kind: "bad-checksum", data: "OK" }]);
  });

  it("drops line noise between packets and restarts on a new '$'", () => {
    const d = new PacketDecoder();
    expect(d.push("garbage\r\n$g#67")).toEqual([{ kind: "packet", data: "g" }]);
    // An unterminated packet is abandoned when a new one begins only if it was its checksum; a '$'
    // inside data is kept (gdb always escapes it), so the broken packet fails its checksum.
    expect(d.push("$g$?#3f")).toEqual([{ kind: "bad-checksum", data: "g$?" }]);
  });

  it("escapes and unescapes binary payloads", () => {
    const raw = "a$b#c}d*e";
    const esc = escapeBinary(raw);
    expect(esc).toBe("a}\x04b}\x03c}]d}\x0ae");
    expect(esc).not.toMatch(/[$#*]/);
    expect(unescapeBinary(esc)).toBe(raw);
  });

  it("hex codecs round-trip and reject malformed input", () => {
    const bytes = Uint8Array.from([0, 1, 0xab, 0xff]);
    expect(toHex(bytes)).toBe("0001abff");
    expect(fromHex("0001ABff")).toEqual(bytes);
    expect(fromHex("abc")).toBeNull();
    expect(fromHex("zz")).toBeNull();
    expect(textToHex("pt é\n")).toBe("707420c3a90a");
    expect(hexToText("707420c3a90a")).toBe("pt é\n");
    expect(hexToText("7")).toBeNull();
  });

  it("parses hex number fields and refuses anything else", () => {
    expect(parseHexNumber("40000010")).toBe(0x4000_0010n);
    expect(parseHexNumber("ffffffffffffffff")).toBe((1n << 64n) - 1n);
    expect(parseHexNumber("1ffffffffffffffff")).toBeNull();
    expect(parseHexNumber("")).toBeNull();
    expect(parseHexNumber(undefined)).toBeNull();
    expect(parseHexNumber("-1")).toBeNull();
    expect(parseHexNumber("0x10")).toBeNull();
  });

  it("any binary payload, escaped, framed and cut anywhere, decodes back to itself", () => {
    const byte = fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 200 }).map((a) => a.join("")), fc.array(fc.nat(), { maxLength: 6 }), (raw, cuts) => {
        const wire = frame(escapeBinary(raw));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const d = new PacketDecoder();
        const items = [];
        let at = 0;
        for (const p of [...points, wire.length]) {
          items.push(...d.push(wire.slice(at, p)));
          at = p;
        }
        expect(items.length).toBe(1);
        expect(items[0]!.kind).toBe("packet");
        expect(unescapeBinary((items[0] as { data: string }).data)).toBe(raw);
      }),
      { seed: 6, numRuns: 300 },
    );
  });
});

/** Feed `wire` to `d` cut at `cuts` (any offsets, folded into range) and collect what comes out. */
function decodeCut(d: PacketDecoder, wire: string, cuts: number[]): Incoming[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const items: Incoming[] = [];
  let at = 0;
  for (const p of [...points, wire.length]) {
    items.push(...d.push(wire.slice(at, p)));
    at = p;
  }
  return items;
}

describe("RSP framing: bounded packets", () => {
  it("takes a packet of exactly the limit and refuses one byte more, at the limit, keeping nothing", () => {
    const d = new PacketDecoder(16);
    expect(d.limit).toBe(16);
    expect(d.push(frame("p".repeat(16)))).toEqual([{ kind: "packet", data: "p".repeat(16) }]);
    // Reported as soon as the 17th byte arrives, before any '#': the sender may never send one.
    expect(d.push("$" + "p".repeat(17))).toEqual([{ kind: "oversize", limit: 16 }]);
    expect(d.buffered).toBe(0);
    // The rest of it, checksum included, is skipped; then decoding goes on.
    expect(d.push("ppp#00+$?#3f")).toEqual([{ kind: "ack" }, { kind: "packet", data: "?" }]);
  });

  it("refuses a 1 MB packet sent whole or a byte at a time, holding at most the limit, and decodes the next one", () => {
    const limit = 0x4000;
    const wire = frame("X" + "a".repeat(1 << 20)) + frame("?");
    for (const chunk of [wire.length, 65536, 1]) {
      const d = new PacketDecoder(limit);
      const items: Incoming[] = [];
      let most = 0;
      for (let at = 0; at < wire.length; at += chunk) {
        items.push(...d.push(wire.slice(at, at + chunk)));
        most = Math.max(most, d.buffered);
      }
      expect(items, `chunks of ${chunk}`).toEqual([{ kind: "oversize", limit }, { kind: "packet", data: "?" }]);
      expect(most).toBeLessThanOrEqual(limit + 2);
    }
  });

  it("does not buffer a packet that never ends: 8 MB without '#' is dropped at the limit and a later '$' starts afresh", () => {
    const d = new PacketDecoder(0x4000);
    const junk = "z".repeat(1 << 20);
    const items: Incoming[] = d.push("$");
    for (let i = 0; i < 8; i++) {
      items.push(...d.push(junk));
      expect(d.buffered).toBe(0);
    }
    // Acks and the interrupt byte are part of the dropped packet until it ends, like any data byte.
    items.push(...d.push("+\x03$qC#b4"));
    expect(items).toEqual([{ kind: "oversize", limit: 0x4000 }, { kind: "packet", data: "qC" }]);
  });

  it("the default limit is for reading a stub's replies: 1 MiB", () => {
    expect(new PacketDecoder().limit).toBe(MAX_PACKET);
    expect(MAX_PACKET).toBe(1 << 20);
    const big = "0".repeat(MAX_PACKET);
    expect(new PacketDecoder().push(frame(big))).toEqual([{ kind: "packet", data: big }]);
  });

  /**
   * A model of the stream: packets with escaped binary payloads (runs of '*', '}', '$', '#' included:
   * a stub's own commands are never run-length encoded, so '*' must arrive as sent), packets with a
   * corrupted checksum, packets over the limit, acks, nacks and interrupts; the whole glued and cut
   * anywhere must decode to the model's items, in order.
   */
  it("any stream of packets, bad checksums, oversize packets and acks, cut anywhere, decodes as modelled", () => {
    const limit = 48;
    const byte = fc.oneof(
      fc.constantFrom("$", "#", "}", "*", "+", "-", "\x03"),
      fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)),
    );
    const payload = fc.array(fc.oneof(byte, byte.chain((b) => fc.integer({ min: 2, max: 12 }).map((n) => b.repeat(n)))), { maxLength: 30 })
      .map((a) => a.join(""));
    const unit = fc.oneof(
      payload.map((raw) => ({ kind: "packet" as const, raw })),
      payload.map((raw) => ({ kind: "corrupt" as const, raw })),
      fc.integer({ min: limit + 1, max: 4 * limit }).map((n) => ({ kind: "long" as const, raw: "y".repeat(n) })),
      fc.constantFrom({ kind: "ack" as const }, { kind: "nack" as const }, { kind: "interrupt" as const }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (units, cuts) => {
        let wire = "";
        const want: unknown[] = [];
        for (const u of units) {
          if (u.kind === "ack") wire += "+";
          else if (u.kind === "nack") wire += "-";
          else if (u.kind === "interrupt") wire += "\x03";
          if (u.kind === "ack" || u.kind === "nack" || u.kind === "interrupt") {
            want.push(u);
            continue;
          }
          const data = escapeBinary(u.raw);
          if (data.length > limit) {
            wire += frame(data);
            want.push({ kind: "oversize", limit });
          } else if (u.kind === "corrupt") {
            const sum = ((parseInt(checksum(data), 16) + 1) & 0xff).toString(16).padStart(2, "0");
            wire += `$${data}#${sum}`;
            want.push({ kind: "bad-checksum", data });
          } else {
            wire += frame(data);
            want.push({ kind: "packet", data });
          }
        }
        const got = decodeCut(new PacketDecoder(limit), wire, cuts);
        expect(got).toEqual(want);
        for (const [i, g] of got.entries()) {
          const u = units[i]!;
          if (g.kind === "packet" && "raw" in u) expect(unescapeBinary(g.data)).toBe(u.raw);
        }
      }),
      { seed: 14, numRuns: 400 },
    );
  });
});
