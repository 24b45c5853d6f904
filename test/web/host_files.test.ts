// The browser's host modules (web/build.ts swaps them in for asm/host_files.ts and
// emulator/semihosting_files.ts): the same exports and errors as the Node ones, and the same
// assembled bytes and scenario results when the core reads the shipped files through them.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { assemble, assembleFile } from "../../asm/assembler.ts";
import { InputFileError } from "../../asm/errors.ts";
import * as nodeFiles from "../../asm/host_files.ts";
import * as nodeSemihosting from "../../emulator/semihosting_files.ts";
import { runScenario } from "../../lab/scenario/run.ts";
import * as browserFiles from "../../web/host_files.browser.ts";
import * as browserSemihosting from "../../web/semihosting_files.browser.ts";
import { shippedFiles } from "../../web/build.ts";

/** The message `p` rejects with. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("web/host_files.browser.ts", () => {
  it("has every export of asm/host_files.ts", () => {
    for (const name of Object.keys(nodeFiles)) expect(typeof (browserFiles as Record<string, unknown>)[name], name).toBe(typeof (nodeFiles as Record<string, unknown>)[name]);
  });

  it("serves the files set, as text or bytes, whichever was given", async () => {
    browserFiles.setHostFiles([
      { path: "guests/a.S", text: "nop // é\n" },
      { path: "bin/b.bin", bytes: new Uint8Array([0x68, 0x69, 0xc3, 0xa9]) },
    ]);
    expect(await browserFiles.readInputText("guests/a.S")).toBe("nop // é\n");
    expect([...(await browserFiles.readInputBytes("guests/a.S"))]).toEqual([...new TextEncoder().encode("nop // é\n")]);
    expect(await browserFiles.readInputText("bin/b.bin")).toBe("hié");
    expect([...(await browserFiles.readInputBytes("bin/b.bin"))]).toEqual([0x68, 0x69, 0xc3, 0xa9]);
  });

  it("finds a file under any spelling of its path, as a disk would", async () => {
    browserFiles.setHostFiles([{ path: "guests/l1/hyp.S", text: "x" }]);
    expect(await browserFiles.readInputText("./guests/l1/../l1//hyp.S")).toBe("x");
  });

  it("keeps a byte-order mark, as node:fs does", async () => {
    browserFiles.setHostFiles([{ path: "bom.S", bytes: new Uint8Array([0xef, 0xbb, 0xbf, 0x6e]) }]);
    expect(await browserFiles.readInputText("bom.S")).toBe("\ufeffn");
  });

  it("hands out copies of the bytes: a reader cannot change the set", async () => {
    browserFiles.setHostFiles([{ path: "b.bin", bytes: new Uint8Array([1, 2]) }]);
    (await browserFiles.readInputBytes("b.bin"))[0] = 9;
    expect([...(await browserFiles.readInputBytes("b.bin"))]).toEqual([1, 2]);
  });

  it("fails a missing file with InputFileError ENOENT and the CLI's message", async () => {
    browserFiles.setHostFiles([{ path: "guests/a.S", text: "nop\n" }]);
    for (const path of ["guests/nothere.S", ""]) {
      const inBrowser = await rejection(browserFiles.readInputText(path));
      const inNode = await rejection(nodeFiles.readInputText(path));
      expect(inBrowser).toBeInstanceOf(InputFileError);
      expect(inBrowser).toMatchObject({ code: "ENOENT", file: path });
      expect(inBrowser.message).toBe(inNode.message);
      expect((await rejection(browserFiles.readInputBytes(path))).message).toBe(inNode.message);
    }
  });

  it("replaces the whole set on each call", async () => {
    browserFiles.setHostFiles([{ path: "one.S", text: "1" }]);
    browserFiles.setHostFiles([{ path: "two.S", text: "2" }]);
    expect(await browserFiles.readInputText("two.S")).toBe("2");
    expect(await rejection(browserFiles.readInputText("one.S"))).toBeInstanceOf(InputFileError);
  });

  it("has no working directory: relative paths stay relative to the set's root", () => {
    expect(browserFiles.workingDirectory()).toBe("");
    expect(nodeFiles.workingDirectory()).toBe(process.cwd());
  });
});

describe("web/semihosting_files.browser.ts", () => {
  it("has every export of emulator/semihosting_files.ts and the same errno table", () => {
    for (const name of Object.keys(nodeSemihosting)) expect(typeof (browserSemihosting as Record<string, unknown>)[name], name).toBe(typeof (nodeSemihosting as Record<string, unknown>)[name]);
    expect(browserSemihosting.ERRNO).toEqual(nodeSemihosting.ERRNO);
    for (let mode = -1; mode <= 12; mode++) expect(browserSemihosting.openFlags(mode)).toBe(nodeSemihosting.openFlags(mode));
  });

  it("refuses host files: without a root as the CLI does, with one because a page has none", () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as { errno: number; message: string };
      }
      throw new Error("expected a refusal");
    };
    const noRoot = refusal(() => browserSemihosting.confinedPath(null, "out.txt"));
    expect(noRoot).toEqual(refusal(() => nodeSemihosting.confinedPath(null, "out.txt")));
    expect(noRoot).toBeInstanceOf(browserSemihosting.SemihostError);
    const withRoot = refusal(() => browserSemihosting.confinedPath("/tmp", "out.txt"));
    expect(withRoot.errno).toBe(browserSemihosting.ERRNO.EACCES);
    expect(withRoot.message).toMatch(/not available in the browser/);
  });
});

describe("the core reading the shipped files through the browser's host files", () => {
  type BrowserCore = {
    files: typeof browserFiles;
    assemble: typeof assemble;
    assembleFile: typeof assembleFile;
    runScenario: typeof runScenario;
  };
  let core: BrowserCore;

  // A fresh copy of the core whose asm/host_files.ts is the browser's, as in the browser bundle.
  beforeAll(async () => {
    vi.resetModules();
    vi.doMock("../../asm/host_files.ts", () => import("../../web/host_files.browser.ts"));
    const files = (await import("../../asm/host_files.ts")) as unknown as typeof browserFiles;
    files.setHostFiles([
      ...(await shippedFiles()),
      // Only in the set, not on the disk: proof that the core reads the set.
      { path: "edited/main.S", text: '.include "lib/two.S"\n' },
      { path: "edited/lib/two.S", text: "nop\nnop\n" },
    ]);
    const asm = await import("../../asm/assembler.ts");
    const scenario = await import("../../lab/scenario/run.ts");
    core = { files, assemble: asm.assemble, assembleFile: asm.assembleFile, runScenario: scenario.runScenario };
  });

  afterAll(() => {
    vi.doUnmock("../../asm/host_files.ts");
    vi.resetModules();
  });

  it("assembles guests/l1/hyp.S (and its .includes) to the same image as from the disk", async () => {
    const fromDisk = await assembleFile("guests/l1/hyp.S");
    const fromSet = await core.assembleFile("guests/l1/hyp.S");
    expect(core.files.workingDirectory()).toBe("");
    expect(fromSet.sections).toEqual(fromDisk.sections);
    expect(fromSet.symbols).toEqual(fromDisk.symbols);
    expect(fromSet.entry).toBe(fromDisk.entry);
  });

  it("reads the set, not the disk", async () => {
    const image = await core.assembleFile("edited/main.S");
    expect(image.sections.reduce((n, s) => n + s.bytes.length, 0)).toBe(8);
    expect(await rejection(assembleFile("edited/main.S"))).toBeInstanceOf(InputFileError);
  });

  it("reports a missing .include with the CLI's message", async () => {
    const src = 'nop\n.include "lib/nothere.S"\n';
    const inNode = await rejection(assemble(src, { file: "guests/l1/x.S" }));
    const inBrowser = await rejection(core.assemble(src, { file: "guests/l1/x.S" }));
    expect(inBrowser.message).toBe("guests/l1/x.S:2:10: .include: cannot open guests/l1/lib/nothere.S: no such file");
    expect(inBrowser.message).toBe(inNode.message);
  });

  it("runs a shipped scenario to the same result, its images found relative to it", async () => {
    const fromDisk = await runScenario("scenarios/tlb_stale.yaml");
    const fromSet = await core.runScenario("scenarios/tlb_stale.yaml");
    expect(fromSet.ok).toBe(true);
    expect({ ...fromSet, file: "" }).toEqual({ ...fromDisk, file: "" });
  });
});
