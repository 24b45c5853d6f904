// `nvlab run --format`: raw images whatever their name (and ELFs told by content), in a scenario
// per image, and clear refusals where a forced format cannot be what the file is.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assembleFile } from "../../asm/assembler.ts";
import { rawBinary } from "../../asm/raw_binary.ts";
import { imageElf } from "../helpers/elf_file.ts";
import { nvlabInProcess } from "./in_process.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-run-format-"));
const L1 = join(dir, "hyp.img");
const L2 = join(dir, "hello.img");
const L2_ELF = join(dir, "hello.elf");

beforeAll(async () => {
  writeFileSync(L1, rawBinary(await assembleFile("guests/l1/hyp.S", { base: 0x4010_0000n })).bytes);
  const hello = await assembleFile("guests/l2/hello.S", { base: 0x4000_0000n });
  writeFileSync(L2, rawBinary(hello).bytes);
  writeFileSync(L2_ELF, imageElf(hello));
});

describe("nvlab run --format", () => {
  it("auto reads a raw image not named .bin as assembly source, and fails", async () => {
    const r = await nvlabInProcess("run", "--l1", L1, "--l2", `${L2}@0x48000000`);
    expect(r.status).toBe(1);
  });

  it("raw loads --l1 at 0x40100000 and each --l2 at its @IPA, entered at the first byte", async () => {
    const r = await nvlabInProcess("run", "--l1", L1, "--l2", `${L2}@0x48000000`, "--format", "raw");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^hello from L2\n/m);
    expect(r.stdout).toContain("exit: PSCI SYSTEM_OFF, code 0");
  });

  it("raw refuses assembly source and an ELF, naming the file and what to do", async () => {
    const src = await nvlabInProcess("run", "--l1", L1, "--l2", "guests/l2/hello.S@0x48000000", "--format", "raw");
    expect(src.status).toBe(1);
    expect(src.stderr).toBe("nvlab: guests/l2/hello.S: --format raw reads a file as machine code, but this is assembly source (.S); give raw images their own name (or --format auto)\n");
    const elf = await nvlabInProcess("run", "--l1", L1, "--l2", `${L2_ELF}@0x48000000`, "--format", "raw");
    expect(elf.status).toBe(1);
    expect(elf.stderr).toContain(`${L2_ELF}: --format raw would load this ELF file's headers as code`);
  });

  it("asm refuses an ELF; elf refuses a file without the magic; an unknown format is named", async () => {
    const asm = await nvlabInProcess("run", "--l1", L2_ELF, "--format", "asm");
    expect(asm.stderr).toBe(`nvlab: ${L2_ELF}: --format asm: this is an ELF file, not assembly source\n`);
    const elf = await nvlabInProcess("run", "--l1", L1, "--format", "elf");
    expect(elf.stderr).toBe(`nvlab: ${L1}: not an ELF file (no \\x7fELF magic)\n`);
    const bad = await nvlabInProcess("run", "--l1", L1, "--format", "coff");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("nvlab: --format: 'coff' is not one of auto, asm, elf, raw\n");
  });

  it("a scenario sets the format per image, and refuses --format on the command line", async () => {
    const file = join(dir, "raw.yaml");
    writeFileSync(
      file,
      "name: raw-images\nimages:\n  l1: {file: hyp.img, format: raw}\n  l2:\n    - {file: hello.img, ipa: 0x48000000, format: raw}\n" +
        "expect:\n  exitCode: 0\n  console: '^hello from L2\\n'\n",
    );
    const r = await nvlabInProcess("run", file);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const refused = await nvlabInProcess("run", file, "--format", "raw");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe("nvlab: run: --format cannot be combined with a scenario file (set it in the scenario)\n");
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: bad\nimages:\n  l1: {file: hyp.img, format: coff}\nexpect: {}\n");
    const b = await nvlabInProcess("run", bad);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain("images.l1.format: expected one of: auto, asm, elf, raw");
  });
});
