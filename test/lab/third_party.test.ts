// The third-party source fetcher: a pinned tarball is downloaded once, verified on every use,
// refused when its bytes differ from the pin, and only the wanted directory is extracted.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { integrityMatches, LZ4_NPM, type NpmSource, npmSourceDir, npmTarball, OPUS_NPM, tarballUrl, ThirdPartyUnavailableError } from "../../lab/third_party.ts";

/** A package tarball as npm makes them: package/ with the wanted directory and something else. */
function makeTarball(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "nvlab-tp-src-"));
  mkdirSync(join(dir, "package", "deps", "lib"), { recursive: true });
  writeFileSync(join(dir, "package", "deps", "lib", "a.c"), "int a(void) { return 1; }\n");
  writeFileSync(join(dir, "package", "index.js"), "module.exports = 1;\n");
  const tgz = join(dir, "p.tgz");
  execFileSync("tar", ["-czf", tgz, "-C", dir, "package"]);
  return new Uint8Array(readFileSync(tgz));
}

const sri = (b: Uint8Array) => `sha512-${createHash("sha512").update(b).digest("base64")}`;
const TGZ = makeTarball();
const SRC: NpmSource = { name: "demo", version: "1.2.3", integrity: sri(TGZ), dir: "package/deps/lib" };

function counter(bytes: Uint8Array) {
  const urls: string[] = [];
  return { urls, download: (url: string) => (urls.push(url), Promise.resolve(bytes)) };
}

const offline = () => Promise.reject(new Error("getaddrinfo ENOTFOUND registry.npmjs.org"));

describe("third-party sources from the npm registry", () => {
  it("names the registry's tarball URL", () => {
    expect(tarballUrl(LZ4_NPM)).toBe("https://registry.npmjs.org/lz4/-/lz4-0.6.5.tgz");
    expect(tarballUrl(SRC, "https://mirror.example/npm")).toBe("https://mirror.example/npm/demo/-/demo-1.2.3.tgz");
    // A scoped package's tarball is named without its scope.
    expect(tarballUrl(OPUS_NPM)).toBe("https://registry.npmjs.org/@discordjs/opus/-/opus-0.10.0.tgz");
  });

  it("keeps a scoped package under one flat name in the cache", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const c = counter(TGZ);
    const dir = await npmSourceDir({ ...SRC, name: "@scope/demo" }, { cacheDir, download: c.download, registry: "https://r.example/" });
    expect(c.urls).toEqual(["https://r.example/@scope/demo/-/demo-1.2.3.tgz"]);
    expect(readdirSync(cacheDir).sort()).toEqual(["@scope+demo-1.2.3", "@scope+demo-1.2.3.tgz"]);
    expect(readFileSync(join(dir, "a.c"), "utf8")).toMatch(/return 1/);
  });

  it("checks sha512 integrity and refuses other algorithms", () => {
    expect(integrityMatches(TGZ, SRC.integrity)).toBe(true);
    expect(integrityMatches(Uint8Array.from([...TGZ, 0]), SRC.integrity)).toBe(false);
    expect(() => integrityMatches(TGZ, "sha1-abc=")).toThrow(/only sha512/);
  });

  it("downloads once, then serves the cached tarball without the network", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const c = counter(TGZ);
    const dir = await npmSourceDir(SRC, { cacheDir, download: c.download, registry: "https://r.example/" });
    expect(c.urls).toEqual(["https://r.example/demo/-/demo-1.2.3.tgz"]);
    expect(readFileSync(join(dir, "a.c"), "utf8")).toMatch(/return 1/);
    // Only the wanted directory is extracted.
    expect(readdirSync(join(cacheDir, "demo-1.2.3", "package")).sort()).toEqual(["deps"]);
    expect(await npmSourceDir(SRC, { cacheDir, download: offline })).toBe(dir);
  });

  it("refuses bytes that do not match the pin, and caches nothing", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const other: NpmSource = { ...SRC, integrity: sri(Uint8Array.from([1, 2, 3])) };
    await expect(npmTarball(other, { cacheDir, download: counter(TGZ).download })).rejects.toThrow(/do not match the pinned integrity/);
    expect(existsSync(join(cacheDir, "demo-1.2.3.tgz"))).toBe(false);
  });

  it("fetches again when the cached tarball was altered", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    await npmTarball(SRC, { cacheDir, download: counter(TGZ).download });
    writeFileSync(join(cacheDir, "demo-1.2.3.tgz"), "corrupt");
    const c = counter(TGZ);
    const file = await npmTarball(SRC, { cacheDir, download: c.download });
    expect(c.urls).toHaveLength(1);
    expect(integrityMatches(readFileSync(file), SRC.integrity)).toBe(true);
  });

  it("downloads once when several callers ask at the same time (parallel test files)", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const urls: string[] = [];
    const slow = (url: string) => (urls.push(url), new Promise<Uint8Array>((r) => setTimeout(() => r(TGZ), 300)));
    const files = await Promise.all([1, 2, 3].map(() => npmTarball(SRC, { cacheDir, download: slow })));
    expect(urls).toHaveLength(1);
    expect(new Set(files).size).toBe(1);
    expect(existsSync(join(cacheDir, "demo-1.2.3.tgz.lock"))).toBe(false);
  });

  it("takes over a lock left by a process that died", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const lock = join(cacheDir, "demo-1.2.3.tgz.lock");
    mkdirSync(lock);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    const c = counter(TGZ);
    await npmTarball(SRC, { cacheDir, download: c.download });
    expect(c.urls).toHaveLength(1);
  });

  it("says so when there is no network and nothing cached", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "nvlab-tp-cache-"));
    const e = await npmTarball(SRC, { cacheDir, download: offline, registry: "https://r.example/" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ThirdPartyUnavailableError);
    expect((e as Error).message).toBe("cannot fetch https://r.example/demo/-/demo-1.2.3.tgz: getaddrinfo ENOTFOUND registry.npmjs.org");
  });
});
