// `nvlab lab`'s server: the built page's files with the types a browser needs, nothing outside them.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabServer, serveLab, servedPath } from "../../cli/lab.ts";
import { nvlabInProcess } from "./in_process.ts";

interface Reply {
  status: number;
  type: string | undefined;
  body: Buffer;
}

/** GET `path` exactly as given (a browser would fold `..` away before sending it). */
function get(url: string, path: string, method = "GET"): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(new URL(url), { path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, type: res.headers["content-type"], body: Buffer.concat(chunks) }));
    });
    req.on("error", fail);
    req.end();
  });
}

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe("serveLab", () => {
  let tmp: string;
  let dist: string;
  let server: LabServer;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "nvlab-lab-"));
    dist = join(tmp, "dist");
    await mkdir(join(dist, "sub"), { recursive: true });
    await writeFile(join(dist, "index.html"), "<!doctype html><title>lab</title>");
    await writeFile(join(dist, "lab.js"), "export {};");
    await writeFile(join(dist, "lab.css"), "body{}");
    await writeFile(join(dist, "files.json"), "[]");
    await writeFile(join(dist, "keystone.wasm"), WASM);
    await writeFile(join(dist, "sub", "index.html"), "sub");
    // Outside the served directory: must never be served.
    await writeFile(join(tmp, "package.json"), '{"secret":true}');
    await writeFile(join(tmp, "dist-other.txt"), "beside");
    server = await serveLab({ port: 0, dir: dist });
  });

  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 on a free port", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/);
  });

  it("serves index.html at the root", async () => {
    const r = await get(server.url, "/");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/html/);
    expect(r.body.toString()).toContain("<title>lab</title>");
    expect((await get(server.url, "/index.html")).body.toString()).toContain("<title>lab</title>");
    expect((await get(server.url, "/sub/")).body.toString()).toBe("sub");
  });

  it("serves each kind of file with its MIME type", async () => {
    const js = await get(server.url, "/lab.js");
    expect([js.status, js.type, js.body.toString()]).toEqual([200, "text/javascript; charset=utf-8", "export {};"]);
    const wasm = await get(server.url, "/keystone.wasm");
    expect([wasm.status, wasm.type]).toEqual([200, "application/wasm"]);
    expect(wasm.body.equals(WASM)).toBe(true);
    expect((await get(server.url, "/lab.css")).type).toMatch(/^text\/css/);
    expect((await get(server.url, "/files.json")).type).toBe("application/json");
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const head = await get(server.url, "/lab.js", "HEAD");
    expect([head.status, head.body.length]).toEqual([200, 0]);
    expect((await get(server.url, "/lab.js", "POST")).status).toBe(405);
  });

  it("answers 404 for a missing file and for a directory", async () => {
    expect((await get(server.url, "/nothere.js")).status).toBe(404);
    expect((await get(server.url, "/sub")).status).toBe(404);
  });

  it("serves nothing outside its directory, however the path is spelled", async () => {
    for (const path of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/sub/../../package.json", "/..%2f..%2fdist-other.txt", "/../dist-other.txt", "/%00"]) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString(), path).not.toContain("secret");
    }
  });
});

describe("servedPath", () => {
  it("maps request paths into the root and refuses what would leave it", () => {
    expect(servedPath("/srv/dist", "/")).toBe("/srv/dist/index.html");
    expect(servedPath("/srv/dist", "/worker.js?v=1")).toBe("/srv/dist/worker.js");
    expect(servedPath("/srv/dist", "/a%20b.js")).toBe("/srv/dist/a b.js");
    expect(servedPath("/srv/dist", "/..%2f..%2fetc/passwd")).toBeNull();
    expect(servedPath("/srv/dist", "/%E0%A4%A")).toBeNull();
    // A sibling sharing the root's name as a prefix is outside it too.
    expect(servedPath("/srv/dist", "/..%2fdist-other/x")).toBeNull();
  });
});

describe("nvlab lab", () => {
  it("refuses a port that is not one", async () => {
    const r = await nvlabInProcess("lab", "--port", "http");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("--port: 'http' is not a TCP port");
  });
});
