// `nvlab lab`: the sandbox in a browser tab. Builds the page (web/build.ts) and serves web/dist on
// 127.0.0.1 with node:http: static files only, since the VM itself runs in the page's worker.

import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, resolve, sep } from "node:path";
import type { Command } from "commander";
import { UsageError } from "./errors.ts";
import { parsePort } from "./gdbserver.ts";

export const LAB_DEFAULT_PORT = 8080;
export const LAB_DEFAULT_HOST = "127.0.0.1";

const MIME_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export interface ServeLabOptions {
  /** 0: any free port. */
  port: number;
  host?: string;
  /** The built page (web/dist). */
  dir: string;
}

export interface LabServer {
  url: string;
  close(): Promise<void>;
}

/** The file under `root` a request path names, or null for one that would leave it (or cannot be decoded). */
export function servedPath(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(new URL(urlPath, "http://lab.invalid").pathname);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  if (path.endsWith("/")) path += "index.html";
  const file = resolve(root, `.${path}`);
  return file.startsWith(root + sep) ? file : null;
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

async function handle(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
  const file = servedPath(root, req.url ?? "/");
  const info = file === null ? null : await stat(file).catch(() => null);
  if (file === null || info === null || !info.isFile()) return send(res, 404, "not found\n");
  const body = await readFile(file);
  res.writeHead(200, {
    "Content-Type": MIME_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": body.length,
    // A rebuilt page shows at the next reload.
    "Cache-Control": "no-cache",
    // Cross-origin isolation: the worker may share memory with the page (SharedArrayBuffer, Atomics).
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Serve the files of `dir` over HTTP on `host:port`; resolves once listening. */
export async function serveLab(o: ServeLabOptions): Promise<LabServer> {
  const root = resolve(o.dir);
  const host = o.host ?? LAB_DEFAULT_HOST;
  const server = createServer((req, res) => {
    handle(root, req, res).catch((e: unknown) => send(res, 500, `${e instanceof Error ? e.message : String(e)}\n`));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(o.port, host, () => {
      server.off("error", fail);
      ok();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((ok, fail) => {
        server.close((e) => (e ? fail(e) : ok()));
        server.closeAllConnections();
      }),
  };
}

interface LabCommandLine {
  port: string;
  host: string;
  build: boolean;
  openUrlOnly?: boolean;
  json?: boolean;
}

/**
 * The page in `dir`, built first unless told not to. The builder (and esbuild, a development
 * dependency) loads only here, not with every nvlab command.
 */
async function preparePage(dir: string, build: boolean): Promise<void> {
  if (!build) {
    if (!(await stat(resolve(dir, "index.html")).catch(() => null))) {
      throw new UsageError(`--no-build: ${dir} holds no built page (run npm run build:lab, or drop --no-build)`);
    }
    return;
  }
  const { buildLab } = await import("../web/build.ts");
  try {
    const built = await buildLab({ outDir: dir });
    process.stderr.write(`nvlab lab: built ${built.files.length} files (${(built.bytes / 1024).toFixed(0)} KiB) in ${dir}\n`);
  } catch (e) {
    throw new UsageError(`cannot build the page: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function labCommand(o: LabCommandLine): Promise<void> {
  const port = parsePort(o.port);
  const dir = (await import("../web/build.ts")).DEFAULT_OUT_DIR;
  await preparePage(dir, o.build);
  let server: LabServer;
  try {
    server = await serveLab({ port, host: o.host, dir });
  } catch (e) {
    throw new UsageError(`--port ${port}: cannot listen on ${o.host}: ${(e as Error).message}`);
  }
  if (o.json) process.stdout.write(JSON.stringify({ url: server.url }) + "\n");
  else if (o.openUrlOnly) process.stdout.write(server.url + "\n");
  else {
    process.stdout.write(`nvlab lab: serving ${server.url}\n`);
    process.stderr.write("(Ctrl-C stops the server)\n");
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
}

/** Register `nvlab lab` on the program. */
export function addLabCommand(program: Command): void {
  program
    .command("lab")
    .description("Build the browser lab (web/) and serve it on 127.0.0.1: the sandbox in a browser tab, running in a Web Worker")
    .option("--port <n>", "TCP port (0 picks a free one)", String(LAB_DEFAULT_PORT))
    .option("--host <addr>", "address to listen on", LAB_DEFAULT_HOST)
    .option("--no-build", "serve web/dist as it is (npm run build:lab builds it)")
    .option("--open-url-only", "print only the URL on stdout (for a script that opens it)")
    .option("--json", "print {url} as JSON")
    .action(async (o: LabCommandLine) => {
      await labCommand(o);
    });
}
