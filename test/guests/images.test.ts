// Static properties of the guest images that the guest ABI (guests/README.md) relies on: they
// assemble, are position independent, and keep their fixed offsets and alignments.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import type { Image } from "../../asm/image.ts";
import { firstSection } from "../asm/image_words.ts";
import { GUEST_PAIRS, REPO_ROOT, l2Ipa } from "../qemu/pairs.ts";

const L1_IPA = 0x4010_0000n;
const guestsIn = (dir: string): string[] =>
  readdirSync(join(REPO_ROOT, dir))
    .filter((f) => f.endsWith(".S"))
    .map((f) => `${dir}/${f}`);
const L1S = guestsIn("guests/l1");
const L2S = guestsIn("guests/l2");

const assemble = (path: string, base: bigint): Promise<Image> => assembleFile(join(REPO_ROOT, path), { base });
const size = (image: Image): number => image.sections.reduce((n, s) => n + s.bytes.length, 0);

describe("guest images", () => {
  it("ships the L1 variants and L2 programs the pairs use", () => {
    expect(L1S.sort()).toEqual(
      ["blockmove", "hyp", "hyp64k", "hypblock", "hypfp", "multi", "remap", "smp", "smp_rounds", "smp_shared"].map((n) => `guests/l1/${n}.S`),
    );
    for (const pair of GUEST_PAIRS) {
      expect(L1S).toContain(pair.l1);
      for (const l2 of pair.l2) expect(L2S).toContain(l2.path);
    }
  });

  for (const path of L1S) {
    it(`${path}: entry at the image base, one section, 2K-aligned vectors, below the stack`, async () => {
      const image = await assemble(path, L1_IPA);
      expect(image.sections).toHaveLength(1);
      expect(image.entry).toBe(L1_IPA);
      expect(image.symbols.get("l1_entry")).toBe(L1_IPA);
      expect(image.symbols.get("l1_vectors")! % 2048n).toBe(0n);
      expect(L1_IPA + BigInt(size(image))).toBeLessThan(0x4200_0000n);
    });

    it(`${path}: position independent (same bytes at another 64K-aligned base)`, async () => {
      const a = await assemble(path, L1_IPA);
      const b = await assemble(path, L1_IPA + 0x30_0000n);
      expect(Buffer.from(firstSection(b).bytes).equals(Buffer.from(firstSection(a).bytes))).toBe(true);
    });
  }

  for (const path of L2S) {
    it(`${path}: position independent, entry first, fits below its 1 MiB data area`, async () => {
      const a = await assemble(path, l2Ipa(0));
      const b = await assemble(path, 0x4000_0000n);
      expect(a.sections).toHaveLength(1);
      expect(a.entry).toBe(l2Ipa(0));
      expect(a.symbols.get("l2_entry")).toBe(l2Ipa(0));
      expect(Buffer.from(firstSection(b).bytes).equals(Buffer.from(firstSection(a).bytes))).toBe(true);
      expect(size(a)).toBeLessThan(0x10_0000);
    });
  }

  it("touch images carry their page count as the word at offset 4", async () => {
    for (const [file, n] of [["touch", 64], ["touch1000", 1000]] as const) {
      const image = await assemble(`guests/l2/${file}.S`, l2Ipa(0));
      expect(image.symbols.get("touch_pages")).toBe(l2Ipa(0) + 4n);
      const bytes = firstSection(image).bytes;
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(n);
    }
  });

  it("remap's target is the L2 page at nested IPA 0x4000_1000", async () => {
    const image = await assemble("guests/l2/remap.S", 0x4000_0000n);
    expect(image.symbols.get("remap_target")).toBe(0x4000_1000n);
  });

  it("pairs load L2 #n at 0x4800_0000 + n * 16 MiB", () => {
    for (const pair of GUEST_PAIRS) pair.l2.forEach((l2, n) => expect(l2.ipa).toBe(0x4800_0000n + BigInt(n) * 0x100_0000n));
  });
});
