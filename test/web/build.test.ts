// web/build.ts: the page, the worker and the shipped files built into a directory, with no module
// of Node's in what the browser loads.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLab, type BuiltLab, NodeImportError, REPO_ROOT } from "../../web/build.ts";

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "nvlab-web-build-"));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** What a browser would refuse or could not load: Node's modules and Node-only packages. */
function nodeImports(js: string): string[] {
  const specifiers = [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1] ?? "");
  return specifiers.filter((s) => s.startsWith("node:") || /^(fs|path|url|module|worker_threads|child_process|koffi)(\/|$)/.test(s));
}

/** An entry module importing what the worker runs: the debugger, the runner, scenarios, the assembler, L0. */
async function coreEntry(dir: string): Promise<string> {
  const modules = [
    "debug/session.ts",
    "debug/repl.ts",
    "debug/translate.ts",
    "debug/maps.ts",
    "lab/run.ts",
    "lab/check.ts",
    "lab/scenario/run.ts",
    "asm/assembler.ts",
    "asm/disassembler.ts",
    "hypervisor/vm.ts",
    "emulator/semihosting.ts",
    "lab/snapshot/vm_snapshot.ts",
    "web/host_files.browser.ts",
  ];
  const file = join(dir, "core_entry.ts");
  await writeFile(file, modules.map((m, i) => `export * as m${i} from ${JSON.stringify(join(REPO_ROOT, m))};\n`).join(""));
  return file;
}

describe("buildLab", () => {
  let built: BuiltLab;

  beforeAll(async () => {
    built = await buildLab({ outDir: join(tmp, "core"), workerEntry: await coreEntry(tmp) });
  });

  it("writes the page, the worker, the assemblers' wasm and the shipped files", () => {
    for (const f of ["index.html", "lab.js", "lab.css", "worker.js", "keystone.wasm", "capstone.wasm", "files.json"]) expect(built.files).toContain(f);
    expect(built.outDir).toBe(join(tmp, "core"));
    expect(built.bytes).toBeGreaterThan(4_000_000);
  });

  it("bundles the core into a worker with no Node module in it", async () => {
    const worker = await readFile(join(built.outDir, "worker.js"), "utf8");
    // The whole core came along: the assembler, the scenario runner, the debugger.
    for (const name of ["prepareParsedScenario", "judgeScenario", "DebugSession", "loadKeystoneEngine"]) expect(worker).toContain(name);
    expect(nodeImports(worker)).toEqual([]);
    expect(worker).not.toMatch(/koffi|worker_threads/);
    // The host modules are the browser's.
    expect(worker).toContain("web/host_files.browser.ts");
    expect(worker).toContain("web/semihosting_files.browser.ts");
    expect(worker).not.toMatch(/\/\/ asm\/host_files\.ts/);
  });

  it("keeps the wasm files next to worker.js, where the loaders fetch them", async () => {
    const worker = await readFile(join(built.outDir, "worker.js"), "utf8");
    expect(worker).toContain('new URL("keystone.wasm", import.meta.url)');
    expect(worker).toContain('new URL("capstone.wasm", import.meta.url)');
    const wasm = await readFile(join(built.outDir, "keystone.wasm"));
    expect([...wasm.subarray(0, 4)]).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });

  it("ships the guests and scenarios as {path, text}, paths from the repository's root", async () => {
    const files = JSON.parse(await readFile(join(built.outDir, "files.json"), "utf8")) as { path: string; text: string }[];
    const paths = files.map((f) => f.path);
    expect(paths).toContain("guests/l1/hyp.S");
    expect(paths).toContain("guests/l1/lib/defs.S");
    expect(paths).toContain("guests/l2/hello.S");
    expect(paths).toContain("guests/demo/hello.S");
    expect(paths).toContain("guests/bad/spin.S");
    expect(paths).toContain("scenarios/tlb_stale.yaml");
    expect(paths).toContain("scenarios/guests/region.S");
    expect(paths.every((p) => /^(guests\/(l1|l2|demo|bad)|scenarios)\//.test(p))).toBe(true);
    expect(files.find((f) => f.path === "guests/l1/hyp.S")?.text).toBe(await readFile(join(REPO_ROOT, "guests/l1/hyp.S"), "utf8"));
  });

  it("copies the page's index.html and puts its stylesheet in lab.css", async () => {
    expect(await readFile(join(built.outDir, "index.html"), "utf8")).toBe(await readFile(join(REPO_ROOT, "web/ui/index.html"), "utf8"));
    // esbuild rewrites CSS (comments go) but, not minifying, heads each input with its path.
    expect(await readFile(join(built.outDir, "lab.css"), "utf8")).toContain("/* web/ui/style.css */");
  });

  it("refuses a bundle that reaches Node, naming the module and the imports that brought it in", async () => {
    const entry = join(tmp, "bad_entry.ts");
    await writeFile(entry, `export * from ${JSON.stringify(join(REPO_ROOT, "lab/qemu.ts"))};\n`);
    const e = await buildLab({ outDir: join(tmp, "bad"), workerEntry: entry }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NodeImportError);
    const err = e as NodeImportError;
    expect(err.imports.map((i) => i.module)).toContain("node:child_process");
    expect(err.imports.find((i) => i.module === "node:child_process")?.chain[0]).toBe("lab/qemu.ts");
    expect(err.message).toMatch(/node:child_process {2}<- {2}lab\/qemu\.ts {2}<- {2}.*bad_entry\.ts/);
  });

  it("builds the real page and worker", async () => {
    const real = await buildLab({ outDir: join(tmp, "real"), minify: true });
    const worker = await readFile(join(real.outDir, "worker.js"), "utf8");
    expect(nodeImports(worker)).toEqual([]);
    expect(worker).not.toMatch(/koffi|worker_threads/);
    expect(nodeImports(await readFile(join(real.outDir, "lab.js"), "utf8"))).toEqual([]);
  });
});
