// Third-party C sources that tests and benchmarks build but the repository never holds: a package
// tarball fetched from the npm registry once per clone into .cache/third_party/ (gitignored),
// checked against a pinned integrity (the registry's sha512) every time it is used, and only the
// wanted directory extracted.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A directory of one pinned npm package version. */
export interface NpmSource {
  name: string;
  version: string;
  /** `npm view NAME@VERSION dist.integrity`: "sha512-" and the base64 digest of the tarball. */
  integrity: string;
  /** The directory wanted, as a path inside the tarball (npm tarballs start with `package/`). */
  dir: string;
}

/**
 * The LZ4 compression library (C, BSD-2-Clause: lz4.c, lz4hc.c, lz4frame.c, xxhash.c, version
 * 1.9.2) as the `lz4` npm package 0.6.5 ships it for its native binding.
 */
export const LZ4_NPM: NpmSource = {
  name: "lz4",
  version: "0.6.5",
  integrity: "sha512-KSZcJU49QZOlJSItaeIU3p8WoAvkTmD9fJqeahQXNu1iQ/kR0/mQLdbrK8JY9MY8f6AhJoMrihp1nu1xDbscSQ==",
  dir: "package/deps/lz4/lib",
};

/**
 * libopus (C, BSD-3-Clause: the CELT and SILK codecs with the float encoder and decoder, version
 * 1.3) as the `@discordjs/opus` npm package 0.10.0 ships it for its native binding: a float-heavy
 * real code base for the SIMD&FP unit.
 */
export const OPUS_NPM: NpmSource = {
  name: "@discordjs/opus",
  version: "0.10.0",
  integrity: "sha512-HHEnSNrSPmFEyndRdQBJN2YE6egyXS9JUnJWyP6jficK0Y+qKMEZXyYTgmzpjrxXP1exM/hKaNP7BRBUEWkU5w==",
  dir: "package/deps/opus",
};

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where fetched tarballs and their extracted directories live (one per clone). */
export const THIRD_PARTY_CACHE = join(REPO_ROOT, ".cache", "third_party");

const DEFAULT_REGISTRY = "https://registry.npmjs.org/";
const FETCH_TIMEOUT_MS = 60_000;

/** The sources cannot be had: no network and nothing cached, or the registry served other bytes. */
export class ThirdPartyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ThirdPartyUnavailableError";
  }
}

export interface FetchOptions {
  cacheDir?: string;
  /** npm's `registry` setting when run by npm, else the public registry. */
  registry?: string;
  /** Downloads the tarball at a URL (tests replace it). */
  download?: (url: string) => Promise<Uint8Array>;
}

/** Whether `bytes` are the ones `integrity` ("sha512-<base64>") pins. */
export function integrityMatches(bytes: Uint8Array, integrity: string): boolean {
  const m = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity);
  if (m === null) throw new Error(`unsupported integrity '${integrity}': only sha512 is pinned`);
  return createHash("sha512").update(bytes).digest("base64") === m[1];
}

/** The registry's tarball URL, as `npm view NAME@VERSION dist.tarball` gives it: a scoped package's file is named without its scope. */
export function tarballUrl(src: NpmSource, registry = DEFAULT_REGISTRY): string {
  const base = registry.endsWith("/") ? registry : `${registry}/`;
  return `${base}${src.name}/-/${unscopedName(src)}-${src.version}.tgz`;
}

/** The package name without its `@scope/`. */
const unscopedName = (src: NpmSource): string => src.name.slice(src.name.lastIndexOf("/") + 1);

/** The name of the package's files in the cache: one flat name, the scope joined with `+` (`@discordjs+opus`). */
const cacheStem = (src: NpmSource): string => `${src.name.replace("/", "+")}-${src.version}`;

async function httpsGet(url: string): Promise<Uint8Array> {
  const r = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!r.ok) throw new Error(`HTTP ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Write through a temporary name, so parallel test files never read a half-written file. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

const cachedOk = (file: string, src: NpmSource): boolean => existsSync(file) && integrityMatches(readFileSync(file), src.integrity);

/** A download lock older than this was left by a process that died: take it over. */
const STALE_LOCK_MS = 5 * 60_000;
const LOCK_POLL_MS = 200;

/**
 * Hold `lock` (a directory: creating one is atomic) while `body` runs. Test files run in parallel
 * processes; the lock makes the first one download and the others wait for its file.
 */
async function withLock<T>(lock: string, waitDone: () => boolean, body: () => Promise<T>, whenDone: () => T): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (waitDone()) return whenDone();
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // The holder just released it: try again.
      }
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The tarball, from the cache when its bytes still match the pin, else from the registry (once). */
export async function npmTarball(src: NpmSource, o: FetchOptions = {}): Promise<string> {
  const cache = o.cacheDir ?? THIRD_PARTY_CACHE;
  const file = join(cache, `${cacheStem(src)}.tgz`);
  if (cachedOk(file, src)) return file;
  mkdirSync(cache, { recursive: true });
  return withLock(`${file}.lock`, () => cachedOk(file, src), () => download(src, file, o), () => file);
}

async function download(src: NpmSource, file: string, o: FetchOptions): Promise<string> {
  if (cachedOk(file, src)) return file; // fetched while this process waited for the lock
  const url = tarballUrl(src, o.registry ?? process.env.npm_config_registry ?? DEFAULT_REGISTRY);
  let bytes: Uint8Array;
  try {
    bytes = await (o.download ?? httpsGet)(url);
  } catch (e) {
    throw new ThirdPartyUnavailableError(`cannot fetch ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!integrityMatches(bytes, src.integrity)) {
    throw new ThirdPartyUnavailableError(`${url}: the downloaded bytes do not match the pinned integrity ${src.integrity}`);
  }
  writeAtomically(file, bytes);
  return file;
}

/**
 * The package's `dir`, extracted from its verified tarball under the cache (once; a stamp naming
 * the integrity marks a complete extraction). Returns the directory's path.
 */
export async function npmSourceDir(src: NpmSource, o: FetchOptions = {}): Promise<string> {
  const cache = o.cacheDir ?? THIRD_PARTY_CACHE;
  const target = join(cache, cacheStem(src));
  const stamp = join(target, ".integrity");
  const out = join(target, src.dir);
  const tarball = await npmTarball(src, o);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === src.integrity) return out;
  const tmp = `${target}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", tmp, src.dir], { stdio: ["ignore", "ignore", "pipe"] });
  writeFileSync(join(tmp, ".integrity"), src.integrity);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === src.integrity) {
    rmSync(tmp, { recursive: true, force: true }); // another process got there first
    return out;
  }
  rmSync(target, { recursive: true, force: true }); // a stale or partial extraction
  try {
    renameSync(tmp, target);
  } catch (e) {
    // Another process finished the same extraction first: its copy is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(stamp)) throw e;
  }
  return out;
}
