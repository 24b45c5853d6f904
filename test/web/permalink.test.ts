// Permalinks (web/ui/permalink.ts) round-trip a setup with edited files, bigints and the view, carry
// shipped files by path only, and refuse a damaged link with words a user can act on.

import { describe, expect, it } from "vitest";
import type { LabOptions } from "../../web/protocol.ts";
import { MAX_LINK_CHARS, permalinkHash, readPermalinkHash, type Permalink } from "../../web/ui/permalink.ts";

const SHIPPED = new Map([
  ["guests/l1/hyp.S", '        .include "lib/defs.S"\n        smc #0\n'],
  ["guests/l1/lib/defs.S", "        .equ UART, 0x09000000\n"],
  ["guests/l2/hello.S", "        hvc #0\n"],
  ["scenarios/revmap_stale.yaml", "name: revmap-stale\n"],
]);

const OPTIONS: LabOptions = {
  unmap: "revmap",
  directMap: true,
  vcpus: 2,
  nestedMmus: null,
  seed: 7,
  chaos: { seed: 3, rate: 20 },
  check: true,
  engine: "interp",
  snapshotEvery: 500_000,
};

const EDITED_L2 = "        // edited: ünïcode and a long line " + "x".repeat(3000) + "\n        hvc #1\n";

function guestsLink(): Permalink {
  return {
    setup: {
      kind: "guests",
      l1: "guests/l1/hyp.S",
      l2: [
        { path: "guests/l2/hello.S", ipa: 0x4800_0000n },
        { path: "guests/l2/hello.S", ipa: 0x4b00_0000n },
      ],
      files: [
        { path: "guests/l1/hyp.S", text: SHIPPED.get("guests/l1/hyp.S")! },
        { path: "guests/l1/lib/defs.S", text: SHIPPED.get("guests/l1/lib/defs.S")! },
        { path: "guests/l2/hello.S", text: EDITED_L2 },
      ],
      options: OPTIONS,
    },
    step: 123_456,
    view: "translation",
    address: { space: "va", addr: 0xffff_0000_4000_1000n, level: "L2" },
  };
}

async function decodedJson(hash: string): Promise<unknown> {
  const b64 = hash.slice("#lab=".length).replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0)).subarray(0, -4);
  const out = new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw")));
  return JSON.parse(await out.text());
}

describe("permalink", () => {
  it("round-trips a guests setup with an edited file, bigints, step, view and address", async () => {
    const link = guestsLink();
    const hash = await permalinkHash(link, SHIPPED);
    expect(hash).toMatch(/^#lab=[A-Za-z0-9_-]+$/);
    expect(await readPermalinkHash(hash, SHIPPED)).toEqual(link);
  });

  it("carries shipped files by path, edited ones with their text, bigints as 0x strings", async () => {
    const json = (await decodedJson(await permalinkHash(guestsLink(), SHIPPED))) as { setup: { files: unknown[]; l2: { ipa: unknown }[] }; address: { addr: unknown } };
    expect(json.setup.files).toEqual(["guests/l1/hyp.S", "guests/l1/lib/defs.S", { path: "guests/l2/hello.S", text: EDITED_L2 }]);
    expect(json.setup.l2.map((i) => i.ipa)).toEqual(["0x48000000", "0x4b000000"]);
    expect(json.address.addr).toBe("0xffff000040001000");
  });

  it("round-trips a scenario setup with no step, view or address", async () => {
    const link: Permalink = {
      setup: { kind: "scenario", path: "scenarios/revmap_stale.yaml", files: [{ path: "scenarios/revmap_stale.yaml", text: "name: edited\n" }], options: { ...OPTIONS, unmap: "", seed: null, chaos: null, nestedMmus: 8 } },
      step: null,
      view: null,
      address: null,
    };
    expect(await readPermalinkHash(await permalinkHash(link, SHIPPED), SHIPPED)).toEqual(link);
  });

  it("carries an uploaded image's bytes (base64url) and gives them back", async () => {
    const elf = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff);
    elf.set([0x7f, 0x45, 0x4c, 0x46]);
    const link = guestsLink();
    if (link.setup.kind !== "guests") throw new Error("a guests link");
    link.setup.l2 = [{ path: "guests/l2/hello.elf", ipa: 0x4800_0000n }];
    link.setup.files = [...link.setup.files.slice(0, 2), { path: "guests/l2/hello.elf", text: "", bytes: elf }];
    const hash = await permalinkHash(link, SHIPPED);
    const json = (await decodedJson(hash)) as { setup: { files: unknown[] } };
    expect(json.setup.files[2]).toEqual({ path: "guests/l2/hello.elf", bytes: Buffer.from(elf).toString("base64url") });
    const back = await readPermalinkHash(hash, SHIPPED);
    expect(back).toEqual(link);
    expect(back!.setup.files[2]!.bytes).toBeInstanceOf(Uint8Array);
  });

  it("refuses a link for an image too big to carry, naming it and its size", async () => {
    // Incompressible bytes: about 1.6 MB of link once in base64 twice over.
    let x = 1;
    const big = Uint8Array.from({ length: 1_200_000 }, () => ((x = Math.imul(x, 1103515245) + 12345) >>> 16) & 0xff);
    const link = guestsLink();
    link.setup.files = [...link.setup.files, { path: "guests/l2/big.bin", text: "", bytes: big }, { path: "guests/l2/small.bin", text: "", bytes: new Uint8Array(16) }];
    await expect(permalinkHash(link, SHIPPED)).rejects.toThrow(`the uploaded image big.bin (${Math.ceil(big.length / 1024)} KiB) is too big for a link`);
    // Zeros compress: the same size of image fits.
    link.setup.files = [...link.setup.files.slice(0, 3), { path: "guests/l2/big.bin", text: "", bytes: new Uint8Array(big.length) }];
    expect((await permalinkHash(link, SHIPPED)).length).toBeLessThan(MAX_LINK_CHARS);
  });

  it("names an image whose bytes are damaged", async () => {
    const json = JSON.stringify({ v: 1, setup: { kind: "guests", l1: "guests/l1/hyp.S", l2: [], files: [{ path: "guests/l2/x.bin", bytes: "not base64!" }], options: { ...OPTIONS, chaos: null } }, step: null, view: null, address: null });
    const packed = new Uint8Array(await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer());
    const raw = new TextEncoder().encode(json);
    let h = 0x811c9dc5;
    for (const b of raw) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    const out = new Uint8Array(packed.length + 4);
    out.set(packed);
    new DataView(out.buffer).setUint32(packed.length, h);
    await expect(readPermalinkHash("#lab=" + Buffer.from(out).toString("base64url"), SHIPPED)).rejects.toThrow("setup.files[0].bytes (the image guests/l2/x.bin) is not base64url");
  });

  it("is not a permalink without #lab=", async () => {
    expect(await readPermalinkHash("", SHIPPED)).toBeNull();
    expect(await readPermalinkHash("#other", SHIPPED)).toBeNull();
  });

  it("rejects a corrupted or truncated link with a readable error", async () => {
    const hash = await permalinkHash(guestsLink(), SHIPPED);
    // Every 7th position (not the last character, whose low bits base64 may ignore): raw deflate
    // alone would inflate some of these to different text.
    for (let i = "#lab=".length; i < hash.length - 1; i += 7) {
      const flipped = hash.slice(0, i) + (hash[i] === "A" ? "B" : "A") + hash.slice(i + 1);
      await expect(readPermalinkHash(flipped, SHIPPED), `flipped at ${i}`).rejects.toThrow(/^this permalink cannot be opened: it is damaged/);
    }
    await expect(readPermalinkHash(hash.slice(0, hash.length - 10), SHIPPED)).rejects.toThrow(/damaged/);
    await expect(readPermalinkHash("#lab=not base64!", SHIPPED)).rejects.toThrow(/not base64url/);
  });

  it("names a shipped file the page does not have, and a wrong shape", async () => {
    const hash = await permalinkHash(guestsLink(), SHIPPED);
    const fewer = new Map(SHIPPED);
    fewer.delete("guests/l1/lib/defs.S");
    await expect(readPermalinkHash(hash, fewer)).rejects.toThrow("it names the shipped file guests/l1/lib/defs.S, which this page does not have");
    const bad = { ...guestsLink(), address: { space: "xx" as "va", addr: 1n } };
    await expect(readPermalinkHash(await permalinkHash(bad, SHIPPED), SHIPPED)).rejects.toThrow(/address.space is "xx"/);
  });
});
