// GDB Remote Serial Protocol framing: `$data#cs` packets, `+`/`-` acknowledgments, the 0x03
// interrupt byte, `}` escaping of binary payloads, and hex codecs for the payloads themselves.

/** What the byte stream from gdb decodes into, in arrival order. */
export type Incoming =
  | { kind: "packet"; data: string }
  | { kind: "ack" }
  | { kind: "nack" }
  | { kind: "interrupt" }
  /** A packet whose checksum did not match: in ack mode gdb resends it after our `-`. */
  | { kind: "bad-checksum"; data: string }
  /**
   * A packet longer than the decoder's limit, reported as soon as it crosses it (it may never
   * end); the rest of it is skipped without being kept, up to its `#xx` or the next `$`.
   */
  | { kind: "oversize"; limit: number };

/** The default limit: a client reading a stub's replies; the stub itself uses its PacketSize. */
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

type DecoderState =
  /** Between packets: `$`, acks, the interrupt byte, or line noise. */
  | "idle"
  | "data"
  /** After `#`: the two checksum digits. */
  | "checksum"
  /** Past the limit: skipping the rest of the packet without keeping it. */
  | "skip"
  | "skip-checksum";

/**
 * Incremental decoder: feed it whatever the socket delivered (packets may be split or glued
 * together) and get back the complete items. Bytes outside a packet other than `+ - 0x03` are
 * line noise and dropped, as a serial link would. Each byte is looked at once and at most `limit`
 * bytes of packet data are held, so a huge or endless packet costs time in proportion to its
 * length and no more memory than the limit.
 */
export class PacketDecoder {
  private state: DecoderState = "idle";
  /** The packet's data so far, as slices of the chunks it came in (joined once, at its end). */
  private parts: string[] = [];
  private length = 0;
  private sum = 0;
  private digits = "";
  /** Checksum digits still to skip after an oversize packet's `#`. */
  private skipDigits = 0;

  /** `limit`: the most data bytes (between `$` and `#`, as sent) a packet may have. */
  constructor(readonly limit: number = MAX_PACKET) {}

  /** Packet bytes held, waiting for the rest of their packet: never more than `limit` + 2. */
  get buffered(): number {
    return this.length + this.digits.length;
  }

  push(chunk: string): Incoming[] {
    const out: Incoming[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case "idle": i = this.idle(chunk, i, out); break;
        case "data": i = this.data(chunk, i, out); break;
        case "checksum": i = this.checksumDigit(chunk, i, out); break;
        case "skip": i = this.skip(chunk, i); break;
        case "skip-checksum":
          i++;
          if (--this.skipDigits === 0) this.state = "idle";
      }
    }
    return out;
  }

  private idle(chunk: string, i: number, out: Incoming[]): number {
    const c = chunk[i];
    if (c === "$") this.begin();
    else if (c === "+") out.push({ kind: "ack" });
    else if (c === "-") out.push({ kind: "nack" });
    else if (c === "\x03") out.push({ kind: "interrupt" });
    return i + 1;
  }

  private begin(): void {
    this.state = "data";
    this.parts = [];
    this.length = 0;
    this.sum = 0;
    this.digits = "";
  }

  /**
   * Take data up to the next `#` in one slice. A `#` inside the data is always escaped, so the
   * first one ends it; a `$` is kept (gdb escapes it too), so a packet cut short by a new one
   * fails its checksum and gdb resends it.
   */
  private data(chunk: string, i: number, out: Incoming[]): number {
    const hash = chunk.indexOf("#", i);
    const end = hash < 0 ? chunk.length : hash;
    const room = this.limit - this.length;
    if (end - i > room) {
      out.push({ kind: "oversize", limit: this.limit });
      this.parts = [];
      this.length = 0;
      this.state = "skip";
      // The byte past the limit may be the `$` of the next packet: let `skip` see it.
      return i + room;
    }
    if (end > i) {
      this.parts.push(chunk.slice(i, end));
      this.length += end - i;
      let sum = this.sum;
      for (let k = i; k < end; k++) sum += chunk.charCodeAt(k);
      this.sum = sum & 0xff;
    }
    if (hash < 0) return end;
    this.state = "checksum";
    return hash + 1;
  }

  private checksumDigit(chunk: string, i: number, out: Incoming[]): number {
    this.digits += chunk[i];
    if (this.digits.length < 2) return i + 1;
    const data = this.parts.join("");
    const ok = this.digits.toLowerCase() === this.sum.toString(16).padStart(2, "0");
    out.push(ok ? { kind: "packet", data } : { kind: "bad-checksum", data });
    this.parts = [];
    this.length = 0;
    this.digits = "";
    this.state = "idle";
    return i + 1;
  }

  /** An oversize packet ends at its `#xx`; a `$` (never sent unescaped inside data) starts the next one. */
  private skip(chunk: string, i: number): number {
    for (let k = i; k < chunk.length; k++) {
      const c = chunk.charCodeAt(k);
      if (c === 0x24) {
        this.begin();
        return k + 1;
      }
      if (c === 0x23) {
        this.state = "skip-checksum";
        this.skipDigits = 2;
        return k + 1;
      }
    }
    return chunk.length;
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
