import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  PacketDecoder, checksum, escapeBinary, frame, fromHex, hexToText, parseHexNumber, textToHex, toHex, unescapeBinary,
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
