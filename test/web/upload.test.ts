// The lab page's upload helpers (web/ui/upload.ts): an uploaded file's format is the one the
// worker's loader will read it as, its path never hides a shipped file, it replaces the slot
// chosen, and its read-only tab summarises what `nvlab build` wrote.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildCommand } from "../../cli/build.ts";
import { detectFormat } from "../../lab/image_file.ts";
import { GUEST_PAIRS } from "../../web/ui/catalog.ts";
import { customLabel, defaultIpaText, groupedHex, hexDump, parseIpa, placeUpload, uploadFormat, uploadPath, uploadSummary, type UploadSlot } from "../../web/ui/upload.ts";

const ELF_HEAD = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
const CODE = new Uint8Array([0x00, 0x00, 0x80, 0xd2, 0x02, 0x00, 0x00, 0xd4]);
const SOURCE = new TextEncoder().encode("l2_entry:\n        hvc #0\n");
const L2_0: UploadSlot = { level: "L2", index: 0 };
const none = (): boolean => false;

describe("upload", () => {
  it("tells ELF by magic, raw by name or by binary content, source by name or text", () => {
    expect(uploadFormat("guest", ELF_HEAD)).toBe("elf");
    expect(uploadFormat("guest.bin", ELF_HEAD)).toBe("elf");
    expect(uploadFormat("guest.bin", SOURCE)).toBe("raw");
    expect(uploadFormat("guest.img", CODE)).toBe("raw");
    expect(uploadFormat("guest", CODE)).toBe("raw");
    expect(uploadFormat("guest.S", SOURCE)).toBe("asm");
    expect(uploadFormat("notes", SOURCE)).toBe("asm");
  });

  it("names the upload so the loader's auto format reads it as the page detected it", () => {
    for (const [name, bytes] of [["guest", ELF_HEAD], ["guest.img", CODE], ["guest", CODE], ["guest.bin", CODE], ["mine.S", SOURCE], ["mine", SOURCE]] as const) {
      const format = uploadFormat(name, bytes);
      expect(detectFormat(bytes, uploadPath(L2_0, name, format, none)), name).toBe(format);
    }
    expect(uploadPath(L2_0, "guest.img", "raw", none)).toBe("guests/l2/guest.img.bin");
    expect(uploadPath({ level: "L1" }, "C:\\build\\my hyp.elf", "elf", none)).toBe("guests/l1/my_hyp.elf");
  });

  it("puts an upload beside its level's shipped images but never over one", () => {
    const shipped = new Set(["guests/l2/hello.S"]);
    expect(uploadPath(L2_0, "hello.S", "asm", (p) => shipped.has(p))).toBe("guests/l2/upload-hello.S");
    expect(uploadPath(L2_0, "mine.S", "asm", (p) => shipped.has(p))).toBe("guests/l2/mine.S");
  });

  it("defaults an L2's IPA to the guest ABI's window and reads IPAs as typed", () => {
    expect(defaultIpaText(L2_0)).toBe("0x4800_0000");
    expect(defaultIpaText({ level: "L2", index: 3 })).toBe("0x4b00_0000");
    expect(defaultIpaText({ level: "L1" })).toBe("");
    expect(groupedHex(0x1_0000_0000n)).toBe("0x1_0000_0000");
    expect(parseIpa(" 0x4800_0000 ")).toBe(0x4800_0000n);
    expect(parseIpa("1207959552")).toBe(0x4800_0000n);
    expect(() => parseIpa("48M")).toThrow('"48M" is not an IPA: give 0x-hex (0x4800_0000) or decimal');
    expect(() => parseIpa("99999999999999999999")).toThrow("beyond 64 bits");
  });

  it("replaces the chosen slot of the pair, or adds one L2 after the last", () => {
    const demo = GUEST_PAIRS.find((p) => p.name === "hyp+hello")!;
    const l1 = placeUpload(demo, { level: "L1" }, "guests/l1/mine.elf", 0n);
    expect(l1).toEqual({ ...demo, name: "custom", l1: "guests/l1/mine.elf" });
    const l2 = placeUpload(demo, L2_0, "guests/l2/hello.elf", 0x4800_0000n);
    expect(l2.l2).toEqual([{ path: "guests/l2/hello.elf", ipa: 0x4800_0000n }]);
    const added = placeUpload(l2, { level: "L2", index: 1 }, "guests/l2/two.bin", 0x4900_0000n);
    expect(added.l2.map((i) => i.path)).toEqual(["guests/l2/hello.elf", "guests/l2/two.bin"]);
    expect(customLabel(added)).toBe("custom: hyp.S + hello.elf, two.bin");
    expect(() => placeUpload(demo, { level: "L2", index: 2 }, "x.bin", 0n)).toThrow("there is no L2 #1");
    expect(demo.l2).toEqual([{ path: "guests/l2/hello.S", ipa: 0x4800_0000n }]);
  });

  it("summarises an ELF nvlab build wrote: its entry, program headers and first bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-upload-"));
    try {
      const out = join(dir, "hello.elf");
      const built = await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out, fallback: "elf" });
      const bytes = new Uint8Array(readFileSync(out));
      const text = uploadSummary("guests/l2/hello.elf", bytes);
      const lines = text.split("\n");
      expect(lines[0]!.startsWith(`hello.elf: uploaded ELF, ${bytes.length} bytes`)).toBe(true);
      expect(text).toContain(`ELF64 executable, machine AArch64, entry 0x${built.entry.toString(16)}`);
      expect(text).toMatch(/#0 LOAD +R.X paddr 0x48000000 /);
      expect(text).toContain("00000000  7f 45 4c 46 02 01 01 00");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("dumps bytes sixteen a line with their printable characters", () => {
    expect(hexDump(new TextEncoder().encode("nvlab\x00"))).toEqual([`00000000  6e 76 6c 61 62 00${" ".repeat(47 - 17)}  |nvlab.|`]);
    expect(uploadSummary("guests/l2/x.bin", CODE).split("\n")[0]).toBe("x.bin: uploaded raw binary, 8 bytes");
    expect(uploadSummary("guests/l2/y.bin", new Uint8Array(3 * 1024)).split("\n")[0]).toBe("y.bin: uploaded raw binary, 3072 bytes (3.0 KiB)");
  });
});
