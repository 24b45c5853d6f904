// GDB Remote Serial Protocol framing: `$data#cs` packets, `+`/`-` acknowledgments, the 0x03
// interrupt byte, `}` escaping of binary payloads, and hex codecs for the payloads themselves.

/** What the byte stream from gdb decodes into, in arrival order. */
export type Incoming =
  | { kind: "packet"; data: string }
  | { kind: "ack" }
  | { kind: "nack" }
  | { kind: "interrupt" }
  /** A packet whose checksum did not match: in ack mode gdb resends it after our `-`. */
  | { kind: "bad-checksum"; data: string };

/** The longest packet accepted; gdb is told a smaller PacketSize, so only a broken peer gets here. */
export const MAX_PACKET = 1 << 20;

/** Modulo-256 sum of the data bytes, as two lower-case hex digits. */
export function checksum(data: string): string {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, "0");
}

/** A complete packet for `data`, which must already be escaped where it can contain `$#}*`. */
export function frame(data: string): string {
  return `$${data}#${checksum(data)}`;
}

/** Escape a binary payload (qXfer replies): `$ # } *` become `}` followed by the byte XOR 0x20. */
export function escapeBinary(data: string): string {
  return data.replace(/[$#}*]/g, (c) => "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20));
}

/** Undo `escapeBinary` (gdb escapes the payload of `X` packets the same way). */
export function unescapeBinary(data: string): string {
  return data.replace(/\}([\s\S])/g, (_m, c: string) => String.fromCharCode(c.charCodeAt(0) ^ 0x20));
}

/**
 * Incremental decoder: feed it whatever the socket delivered (packets may be split or glued
 * together) and get back the complete items. Bytes outside a packet other than `+ - 0x03` are
 * line noise and dropped, as a serial link would.
 */
export class PacketDecoder {
  private buf = "";
  private inPacket = false;

  push(chunk: string): Incoming[] {
    const out: Incoming[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (!this.inPacket) {
        if (c === "$") {
          this.inPacket = true;
          this.buf = "";
        } else if (c === "+") out.push({ kind: "ack" });
        else if (c === "-") out.push({ kind: "nack" });
        else if (c === "\x03") out.push({ kind: "interrupt" });
        continue;
      }
      this.buf += c;
      if (this.buf.length > MAX_PACKET) {
        // Unterminated garbage: give up on it rather than grow forever.
        this.inPacket = false;
        out.push({ kind: "bad-checksum", data: "" });
        continue;
      }
      const hash = this.buf.length - 3;
      if (hash >= 0 && this.buf[hash] === "#") {
        const data = this.buf.slice(0, hash);
        const sum = this.buf.slice(hash + 1).toLowerCase();
        this.inPacket = false;
        // A `#` inside the data is always escaped, so the first `#` two bytes from the end ends it.
        out.push(sum === checksum(data) ? { kind: "packet", data } : { kind: "bad-checksum", data });
      }
    }
    return out;
  }
}

/** Bytes as lower-case hex pairs. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Hex pairs to bytes; null when the text is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Text (monitor output, console lines) as hex of its UTF-8 bytes. */
export function textToHex(text: string): string {
  return toHex(new TextEncoder().encode(text));
}

/** Hex of UTF-8 bytes back to text; null on malformed hex. */
export function hexToText(hex: string): string | null {
  const b = fromHex(hex);
  return b === null ? null : new TextDecoder().decode(b);
}

/** A hex number field of a packet (`m addr,len`); null when it is not one. */
export function parseHexNumber(text: string | undefined): bigint | null {
  if (text === undefined || !/^[0-9a-fA-F]{1,16}$/.test(text)) return null;
  return BigInt("0x" + text);
}
