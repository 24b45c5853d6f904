// Builds the page into web/dist/: the page (lab.js, lab.css, index.html), the worker that runs the
// VM (worker.js, next to the assemblers' wasm files it fetches), and files.json, the shipped guests
// and scenarios the page offers. The core is bundled as it is, with the two modules that reach the
// host's files swapped for browser versions; any other Node-only import that reaches the bundle
// fails the build with the chain of imports that brought it in.
//
// Run as a script: `tsx web/build.ts [--minify] [--out DIR]`.

import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

/** The repository's root (web/ is one level down). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where the page goes unless told otherwise (gitignored). */
export const DEFAULT_OUT_DIR = join(REPO_ROOT, "web", "dist");

/** Core modules that use the host (node:fs) and the browser modules with the same exports that replace them. */
const BROWSER_SWAPS: Record<string, string> = {
  "asm/host_files.ts": "web/host_files.browser.ts",
  "emulator/semihosting_files.ts": "web/semihosting_files.browser.ts",
};

/** Packages that only load in Node (native code), besides Node's own modules. */
const NODE_ONLY_PACKAGES = ["koffi"];

/**
 * The emscripten loaders of keystone and capstone import Node's modules in a branch that runs only
 * under Node; in the bundle those imports resolve to an empty module.
 */
const EMSCRIPTEN_LOADERS = /[\\/]node_modules[\\/](keystone-wasm|capstone-wasm)[\\/]/;

/** The shipped files the page offers: whole guest trees, and the scenarios with their own guests. */
const SHIPPED_TREES = ["guests/l1", "guests/l2", "guests/demo", "guests/bad", "scenarios/guests"];
const SHIPPED_SCENARIOS = "scenarios";

/** The assemblers' wasm files, copied next to worker.js (their loaders fetch them from there). */
const WASM_FILES = [
  { pkg: "keystone-wasm", file: "keystone.wasm" },
  { pkg: "capstone-wasm", file: "capstone.wasm" },
];

export interface BuildLabOptions {
  /** Output directory (default web/dist). */
  outDir?: string;
  minify?: boolean;
  /** The worker's entry module (default web/worker/main.ts). */
  workerEntry?: string;
}

export interface BuiltLab {
  outDir: string;
  /** The files written, relative to outDir, sorted. */
  files: string[];
  /** Their total size. */
  bytes: number;
}

/** A Node-only module imported by the browser bundle, and the imports that lead to it from an entry. */
export interface NodeOnlyImport {
  module: string;
  chain: string[];
}

/** The browser bundle reached modules that exist only in Node; the message lists each with its import chain. */
export class NodeImportError extends Error {
  constructor(readonly imports: NodeOnlyImport[]) {
    super(
      "web/build: the browser bundle imports Node-only modules (move them behind a host interface, as asm/host_files.ts):\n" +
        imports.map((i) => `  ${i.module}  <-  ${i.chain.join("  <-  ")}`).join("\n"),
    );
    this.name = "NodeImportError";
  }
}

const NODE_BUILTINS = new Set(builtinModules);

function isNodeOnly(spec: string): boolean {
  if (spec.startsWith("node:")) return true;
  const pkg = spec.split("/")[0] ?? spec;
  return NODE_BUILTINS.has(pkg) || NODE_ONLY_PACKAGES.includes(pkg);
}

/** A repository path with `/` separators, as error messages and files.json name files. */
function repoPath(abs: string): string {
  return relative(REPO_ROOT, abs).split(sep).join("/");
}

/** Swaps the host modules for their browser versions and keeps Node's modules out of the bundle. */
function browserHostPlugin(): esbuild.Plugin {
  const swaps = new Map(Object.entries(BROWSER_SWAPS).map(([from, to]) => [join(REPO_ROOT, from), join(REPO_ROOT, to)]));
  return {
    name: "nvlab-browser-host",
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        const to = swaps.get(resolve(args.resolveDir, args.path));
        return to === undefined ? undefined : { path: to };
      });
      build.onResolve({ filter: /.*/ }, (args) => {
        if (!isNodeOnly(args.path)) return undefined;
        if (EMSCRIPTEN_LOADERS.test(args.importer)) return { path: args.path, namespace: "node-empty" };
        // Kept out (external) so that one build finds them all; buildLab then refuses the result.
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: "node-empty" }, () => ({ contents: "export {};", loader: "js" }));
    },
  };
}

/** The page's entry: its script, then its stylesheet, so lab.css has the page's rules after any it imports. */
function pageEntryPlugin(script: string, style: string): esbuild.Plugin {
  return {
    name: "nvlab-page-entry",
    setup(build) {
      build.onResolve({ filter: /^nvlab-page-entry$/ }, () => ({ path: "page", namespace: "nvlab-page-entry" }));
      build.onLoad({ filter: /.*/, namespace: "nvlab-page-entry" }, () => ({
        contents: `import ${JSON.stringify(script)};\nimport ${JSON.stringify(style)};\n`,
        resolveDir: dirname(script),
        loader: "js",
      }));
    },
  };
}

/** Node-only imports in a build's metafile, each with the shortest import chain from an entry point. */
function nodeOnlyImports(meta: esbuild.Metafile): NodeOnlyImport[] {
  const importedBy = new Map<string, string>();
  const entries = Object.values(meta.outputs).flatMap((o) => (o.entryPoint === undefined ? [] : [o.entryPoint]));
  const queue = [...entries];
  const seen = new Set(entries);
  const found: NodeOnlyImport[] = [];
  const chainTo = (file: string): string[] => {
    const chain = [file];
    for (let f = importedBy.get(file); f !== undefined; f = importedBy.get(f)) chain.push(f);
    return chain;
  };
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i] ?? "";
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.external && isNodeOnly(imp.path)) found.push({ module: imp.original ?? imp.path, chain: chainTo(file) });
      if (imp.external || seen.has(imp.path)) continue;
      seen.add(imp.path);
      importedBy.set(imp.path, file);
      queue.push(imp.path);
    }
  }
  return found;
}

/**
 * Bundle the page and the worker into `outDir`; refuses a bundle that imports Node-only modules.
 * Returns the files written (absolute paths).
 */
async function bundle(outDir: string, minify: boolean, workerEntry: string): Promise<string[]> {
  const ui = join(REPO_ROOT, "web", "ui");
  const result = await esbuild.build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [
      { in: "nvlab-page-entry", out: "lab" },
      { in: workerEntry, out: "worker" },
    ],
    outdir: outDir,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    sourcemap: true,
    minify,
    metafile: true,
    logLevel: "silent",
    plugins: [pageEntryPlugin(join(ui, "main.ts"), join(ui, "style.css")), browserHostPlugin()],
  });
  const bad = nodeOnlyImports(result.metafile);
  if (bad.length > 0) throw new NodeImportError(bad);
  return Object.keys(result.metafile.outputs).map((f) => resolve(REPO_ROOT, f));
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A file's text, or null for one that is not UTF-8 (a built binary has no place in the page). */
async function textOf(file: string): Promise<string | null> {
  try {
    return UTF8.decode(await readFile(file));
  } catch {
    return null;
  }
}

/**
 * The shipped guests and scenarios as `{path, text}`, paths relative to the repository's root
 * ("guests/l1/hyp.S", "scenarios/tlb_stale.yaml"): a scenario's image paths (relative to its
 * own directory) and `.include` paths (relative to the including file) resolve among them.
 */
export async function shippedFiles(): Promise<{ path: string; text: string }[]> {
  const trees = await Promise.all(SHIPPED_TREES.map((t) => listFiles(join(REPO_ROOT, t))));
  const scenarios = (await readdir(join(REPO_ROOT, SHIPPED_SCENARIOS)))
    .filter((n) => n.endsWith(".yaml"))
    .map((n) => join(REPO_ROOT, SHIPPED_SCENARIOS, n));
  const out: { path: string; text: string }[] = [];
  for (const file of [...trees.flat(), ...scenarios]) {
    const text = await textOf(file);
    if (text !== null) out.push({ path: repoPath(file), text });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Copy the wasm files into `outDir`; returns their new paths. */
async function copyWasm(outDir: string): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const out: string[] = [];
  for (const { pkg, file } of WASM_FILES) {
    out.push(join(outDir, file));
    await copyFile(join(dirname(require.resolve(pkg)), file), join(outDir, file));
  }
  return out;
}

/** Build the page into `outDir` (default web/dist). */
export async function buildLab(opts: BuildLabOptions = {}): Promise<BuiltLab> {
  const outDir = resolve(opts.outDir ?? DEFAULT_OUT_DIR);
  await mkdir(outDir, { recursive: true });
  const written = await bundle(outDir, opts.minify ?? false, resolve(opts.workerEntry ?? join(REPO_ROOT, "web", "worker", "main.ts")));
  await copyFile(join(REPO_ROOT, "web", "ui", "index.html"), join(outDir, "index.html"));
  written.push(join(outDir, "index.html"), ...(await copyWasm(outDir)));
  await writeFile(join(outDir, "files.json"), JSON.stringify(await shippedFiles()));
  written.push(join(outDir, "files.json"));
  const files = written.map((f) => relative(outDir, f).split(sep).join("/")).sort();
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(outDir, f))).size;
  return { outDir, files, bytes };
}

function scriptOptions(argv: readonly string[]): BuildLabOptions {
  const out = argv.indexOf("--out");
  return { minify: argv.includes("--minify"), ...(out >= 0 && argv[out + 1] !== undefined ? { outDir: argv[out + 1] } : {}) };
}

async function script(): Promise<void> {
  try {
    const built = await buildLab(scriptOptions(process.argv.slice(2)));
    const where = relative(process.cwd(), built.outDir);
    const shown = where === "" ? "." : where.startsWith("..") ? built.outDir : where;
    process.stdout.write(`web/build: ${built.files.length} files, ${(built.bytes / 1024).toFixed(0)} KiB in ${shown}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await script();
