import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { ElfError } from "../../asm/elf_reader.ts";
import { ImageFileError } from "../../asm/image.ts";
import { rawBinary } from "../../asm/raw_binary.ts";
import { runCommand } from "../../cli/run.ts";
import { detectFormat, loadImageFile } from "../../lab/image_file.ts";
import { prepareScenario, runScenario } from "../../lab/scenario/run.ts";
import { buildElf, imageElf } from "../helpers/elf_file.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-image-file-"));

function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

const code = Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0x00, 0x00, 0x20, 0xd4]); // nop; brk #0

/** hello.S linked at L2's nested IPA (0x40000000), as a cross toolchain would link an L2. */
async function l2HelloElf(): Promise<string> {
  return file("l2_hello.elf", imageElf(await assembleFile("guests/l2/hello.S", { base: 0x4000_0000n })));
}

describe("loadImageFile", () => {
  it("tells the format by content first, then by the .bin name", () => {
    const elf = buildElf({ segments: [{ paddr: 0x4010_0000n, bytes: code }] });
    expect(detectFormat(elf, "prog.S")).toBe("elf");
    expect(detectFormat(elf, "prog.bin")).toBe("elf");
    expect(detectFormat(code, "prog.bin")).toBe("raw");
    expect(detectFormat(code, "PROG.BIN")).toBe("raw");
    expect(detectFormat(new TextEncoder().encode("nop\n"), "prog.s")).toBe("asm");
  });

  it("leaves an ELF at its physical addresses without `at`, and moves it as a whole with it", async () => {
    const p = file("moved.elf", buildElf({
      entry: 0x4000_0004n,
      segments: [{ paddr: 0x4000_0000n, bytes: code }, { paddr: 0x4000_1000n, bytes: code, memsz: 0x20n }],
      symbols: [{ name: "_start", value: 0x4000_0000n }, { name: "buf", value: 0x4000_1008n, type: 1 }, { name: "K", value: 7n, shndx: 0xfff1 }],
    }));
    const own = await loadImageFile(p, { defaultBase: 0x4010_0000n });
    expect(own.sections.map((s) => s.base)).toEqual([0x4000_0000n, 0x4000_1000n]);
    expect(own.entry).toBe(0x4000_0004n);
    const moved = await loadImageFile(p, { at: 0x4800_0000n, defaultBase: 0n });
    expect(moved.sections.map((s) => [s.base, s.bytes.length])).toEqual([[0x4800_0000n, 8], [0x4800_1000n, 0x20]]);
    expect(moved.entry).toBe(0x4800_0004n);
    expect([...moved.symbols]).toEqual([["_start", 0x4800_0000n], ["buf", 0x4800_1008n]]);
    expect(moved.constants.get("K")).toBe(7n);
  });

  it("places a raw binary at `at`, else the default base, entered at its first byte", async () => {
    const p = file("prog.bin", code);
    const im = await loadImageFile(p, { defaultBase: 0x4010_0000n });
    expect(im).toMatchObject({ format: "raw", entry: 0x4010_0000n, sections: [{ base: 0x4010_0000n, bytes: code }] });
    expect((await loadImageFile(p, { at: 0x4800_0000n, defaultBase: 0n })).entry).toBe(0x4800_0000n);
    const forced = await loadImageFile(file("prog.img", code), { defaultBase: 0x8_0000n, format: "raw" });
    expect(forced.sections[0]!.base).toBe(0x8_0000n);
  });

  it("assembles anything else at `at` or the default base", async () => {
    const p = file("prog.S", "start: nop\nbrk #0\n");
    expect((await loadImageFile(p, { defaultBase: 0x4010_0000n })).symbols.get("start")).toBe(0x4010_0000n);
    expect((await loadImageFile(p, { at: 0x4800_0000n, defaultBase: 0n })).entry).toBe(0x4800_0000n);
  });

  it("refuses an empty raw binary and a broken ELF, naming the file", async () => {
    await expect(loadImageFile(file("empty.bin", new Uint8Array()), { defaultBase: 0n })).rejects.toThrow(ImageFileError);
    await expect(loadImageFile(file("empty.bin", new Uint8Array()), { defaultBase: 0n })).rejects.toThrow(/empty\.bin: an empty raw binary/);
    const dyn = file("pie.S", buildElf({ type: 3, segments: [{ paddr: 0n, bytes: code }] }));
    await expect(loadImageFile(dyn, { defaultBase: 0n })).rejects.toThrow(ElfError);
    await expect(loadImageFile(dyn, { defaultBase: 0n })).rejects.toThrow(/pie\.S: a ET_DYN ELF needs relocation/);
  });
});

describe("ELF and raw images under nvlab run", () => {
  it("runs an L2 ELF linked at its nested IPA, relocated with @IPA, as the .S", async () => {
    const base = { l1: { file: "guests/l1/hyp.S", ipa: null }, memory: 256n << 20n, vcpus: 1, maxSteps: 2_000_000 };
    const fromSource = await runCommand({ ...base, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }] });
    const fromElf = await runCommand({ ...base, l2: [{ file: await l2HelloElf(), ipa: 0x4800_0000n }] });
    expect(fromElf.outcome.kind).toBe(fromSource.outcome.kind);
    expect(fromElf.console).toBe(fromSource.console);
    expect(fromElf.console).toMatch(/exit code 0/);
  });

  it("runs an L1 ELF at its own addresses and an L1 raw binary at the default L1 IPA", async () => {
    const l1 = await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n });
    const l2 = [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }];
    const base = { memory: 256n << 20n, vcpus: 1, maxSteps: 2_000_000, l2 };
    const fromSource = await runCommand({ ...base, l1: { file: "guests/l1/hyp.S", ipa: null } });
    // Linked 1 MiB above the default: only a load at its own addresses enters it.
    const linkedHigher = await assembleFile("guests/l1/hyp.S", { base: 0x4020_0000n });
    const fromElf = await runCommand({ ...base, l1: { file: file("hyp.elf", imageElf(linkedHigher)), ipa: null } });
    const fromRaw = await runCommand({ ...base, l1: { file: file("hyp.bin", rawBinary(l1).bytes), ipa: null } });
    expect(fromElf.console).toBe(fromSource.console);
    expect(fromRaw.console).toBe(fromSource.console);
  });

  it("refuses an L1 ELF with a segment outside L1 RAM (a toolchain's note segment at 0x400000), naming file and segment", async () => {
    const elf = file("low_note.elf", buildElf({ segments: [{ paddr: 0x40_0000n, bytes: code }, { paddr: 0x4010_0000n, bytes: code }], entry: 0x4010_0000n }));
    const r = await runCommand({ l1: { file: elf, ipa: null }, l2: [], memory: 256n << 20n, vcpus: 1, maxSteps: 1000 });
    expect(r.outcome.kind).toBe("guest-error");
    expect((r.outcome as { message: string }).message).toMatch(/low_note\.elf: section PT_LOAD\[0\] at 0x400000\.\.0x400008 lies outside L1 RAM/);
  });

  it("runs a scenario whose images are ELFs (L1 without ipa, L2 moved to its window)", async () => {
    const l1 = file("s_hyp.elf", imageElf(await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n })));
    const l2 = await l2HelloElf();
    const scenario = file(
      "elf.yaml",
      `name: elf-images\ndescription: ELF images\nimages:\n  l1: {file: ${l1}}\n  l2:\n    - {file: ${l2}, ipa: 0x48000000}\n` +
        `expect:\n  exitCode: 0\n  console: "hello from L2\\nL1: L2 #0 exited with code 0, stage-2 faults: 1\\nL1: system off, exit code 0"\n`,
    );
    const r = await runScenario(scenario);
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("keeps a scenario's L1 ELF given no ipa at its own addresses, and moves it to an ipa given", async () => {
    const linked = await assembleFile("guests/l1/hyp.S", { base: 0x4020_0000n });
    const l1 = file("s_hyp_high.elf", imageElf(linked));
    const yaml = (ipa: string) => file(`own${ipa}.yaml`, `name: own\nimages:\n  l1: {file: ${l1}${ipa}}\nexpect: {}\n`);
    const own = await prepareScenario(yaml(""));
    expect(own.vm.l1.entry).toBe(linked.entry);
    expect(own.vm.l1Ipa).toBeUndefined();
    const moved = await prepareScenario(yaml(", ipa: 0x40100000"));
    expect(moved.vm.l1.entry).toBe(linked.entry - 0x10_0000n);
    expect(moved.vm.l1Ipa).toBe(0x4010_0000n);
  });
});
