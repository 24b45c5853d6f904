// Images uploaded into the lab page, driven in Node through LabVm as the worker drives it: an ELF or
// a raw binary that `nvlab build` made of a shipped L2 runs to the console of the assembly pair,
// an uploaded file's bytes reach the host's files untouched, and a misplaced image fails with the
// loader's own words (the page shows them in its message bar).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCommand } from "../../../cli/build.ts";
import { runCommand } from "../../../cli/run.ts";
import type { LabOptions, LabSetup, LabState } from "../../../web/protocol.ts";
import { LabLoadError, LabVm, type LabHostFile } from "../../../web/worker/lab_vm.ts";

const OPTIONS: LabOptions = {
  unmap: "revmap", directMap: false, vcpus: 1, nestedMmus: null, seed: null, chaos: null, check: true, engine: "interp", snapshotEvery: 20_000,
};

let dir: string;

function lab(): { vm: LabVm; states: LabState[]; files: LabHostFile[][] } {
  const states: LabState[] = [];
  const files: LabHostFile[][] = [];
  const vm = new LabVm({ post: (s) => states.push(s), setFiles: (f) => files.push([...f]), now: () => 0 });
  return { vm, states, files };
}

function pair(l1: string, l2: string, ipa = 0x4800_0000n): LabSetup {
  return { kind: "guests", l1, l2: [{ path: l2, ipa }], files: [], options: OPTIONS };
}

async function loadError(vm: LabVm, setup: LabSetup): Promise<Error> {
  const e = await vm.load(setup).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(LabLoadError);
  return e as Error;
}

describe("LabVm with uploaded images", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nvlab-upload-"));
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(dir, "hello.elf"), fallback: "elf" });
    await buildCommand({ file: "guests/l2/hello.S", base: 0x4800_0000n, out: join(dir, "hello.bin"), fallback: "elf" });
    await buildCommand({ file: "guests/l1/hyp.S", base: 0x7ff0_0000n, out: join(dir, "far.elf"), fallback: "elf" });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs an ELF and a raw binary of hello.S as L2 to the assembly pair's console", async () => {
    const cli = await runCommand({ l1: { file: "guests/l1/hyp.S", ipa: null }, l2: [{ file: "guests/l2/hello.S", ipa: 0x4800_0000n }], memory: 256n << 20n, vcpus: 1, maxSteps: 100_000_000, unmap: "revmap", check: true, engine: "interp" });
    expect(cli.console).toContain("hello from L2");
    for (const image of ["hello.elf", "hello.bin"]) {
      const { vm, states } = lab();
      await vm.load(pair("guests/l1/hyp.S", join(dir, image)));
      await vm.run();
      const end = states.at(-1)!;
      expect(end.status, image).toBe("finished");
      expect(end.outcome, image).toBe("PSCI SYSTEM_OFF, exit code 0");
      expect(end.console, image).toBe(cli.console);
      expect(end.step, image).toBe(cli.steps);
    }
  });

  it("hands an uploaded file's bytes to the host's files, and a source's text", async () => {
    const { vm, files } = lab();
    const elf = new Uint8Array(readFileSync(join(dir, "hello.elf")));
    const path = join(dir, "hello.elf");
    const source = { path: "guests/l1/hyp.S", text: readFileSync("guests/l1/hyp.S", "utf8") };
    await vm.load({ ...pair("guests/l1/hyp.S", path), files: [source, { path, text: "", bytes: elf }] });
    expect(files).toEqual([[{ path: "guests/l1/hyp.S", text: source.text }, { path, bytes: elf }]]);
    // No text beside the bytes: a host file read as text must decode them, not find "".
    expect("text" in files[0]![1]!).toBe(false);
  });

  it("refuses a raw image at a misaligned IPA and an ELF outside L1's RAM with the loader's words", async () => {
    const { vm } = lab();
    const misaligned = await loadError(vm, pair("guests/l1/hyp.S", join(dir, "hello.bin"), 0x4800_0002n));
    expect(misaligned.message).toContain(`L2 image ${join(dir, "hello.bin")} at 0x48000002 is not at the start of an L2 window`);
    const far = await loadError(vm, pair(join(dir, "far.elf"), "guests/l2/hello.S"));
    expect(far.message).toContain(`image ${join(dir, "far.elf")}: section PT_LOAD[0] at 0x7ff00000..`);
    expect(far.message).toContain("lies outside L1 RAM (0x40000000..0x50000000)");
  });
});
