// Whether the compiled-program tests can run: without the cross compiler, or without the network
// for sources not yet fetched, they are skipped with a warning, except under CI=true, where .ci/run
// installs the compiler and the registry is reachable, so a missing piece fails the suite.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { crossCompilerAvailable, CROSS_GCC } from "../../bench/cpu_programs.ts";
import { unicornAvailable } from "../../lab/oracle/unicorn.ts";
import { LZ4_NPM, type NpmSource, npmSourceDir, OPUS_NPM, ThirdPartyUnavailableError } from "../../lab/third_party.ts";

const inCi = () => process.env.CI === "true";

export function crossCompilerForTests(what: string): boolean {
  if (crossCompilerAvailable()) return true;
  if (inCi()) throw new Error(`${CROSS_GCC} or make not found and CI=true: ${what} must run in CI (.ci/run installs gcc-aarch64-linux-gnu and make)`);
  console.warn(`${CROSS_GCC} not found: SKIPPING ${what} (apt-get install gcc-aarch64-linux-gnu make)`);
  return false;
}

/** A pinned package's source directory (fetched once per clone), or null when it cannot be had here. */
async function npmSourcesForTests(src: NpmSource, label: string, what: string): Promise<string | null> {
  try {
    return await npmSourceDir(src);
  } catch (e) {
    if (!(e instanceof ThirdPartyUnavailableError) || inCi()) throw e;
    console.warn(`${e.message}: SKIPPING ${what} (the ${label} sources come from the npm registry, once per clone)`);
    return null;
  }
}

/** The LZ4 sources' directory (fetched once per clone), or null when they cannot be had here. */
export const lz4SourcesForTests = (what: string): Promise<string | null> => npmSourcesForTests(LZ4_NPM, "LZ4", what);

/** libopus's source tree (from @discordjs/opus, fetched once per clone), or null when it cannot be had here. */
export const opusSourcesForTests = (what: string): Promise<string | null> => npmSourcesForTests(OPUS_NPM, "libopus", what);

/** unicorn-engine for the differential runs: skipped with a warning here, required under CI=true. */
export function unicornForTests(what: string): boolean {
  const a = unicornAvailable();
  if (a.ok) return true;
  if (inCi()) throw new Error(`unicorn-engine unavailable (${a.reason}) and CI=true: ${what} must run in CI (.ci/run installs libunicorn2)`);
  console.warn(`unicorn-engine unavailable (${a.reason}): SKIPPING ${what}`);
  return false;
}

/** The host's own gcc, for the native builds the emulated runs are compared with (required under CI=true). */
export function hostCompilerForTests(what: string): boolean {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    if (inCi()) throw new Error(`gcc (the host compiler) not found and CI=true: ${what} must run in CI (.ci/run installs gcc)`);
    console.warn(`gcc (the host compiler) not found: SKIPPING ${what}`);
    return false;
  }
}

const PICOLIBC_SPECS = "/usr/lib/picolibc/aarch64-linux-gnu/picolibc.specs";

/** Debian's picolibc for the cross compiler: skipped with a warning here, required under CI=true. */
export function picolibcForTests(what: string): boolean {
  if (!crossCompilerForTests(what)) return false;
  if (existsSync(PICOLIBC_SPECS)) return true;
  if (inCi()) throw new Error(`picolibc not found and CI=true: ${what} must run in CI (.ci/run installs picolibc-aarch64-linux-gnu)`);
  console.warn(`picolibc not found: SKIPPING ${what} (apt-get install picolibc-aarch64-linux-gnu)`);
  return false;
}

/** clang and lld for TOOLCHAIN=clang builds: skipped with a warning here, required under CI=true. */
export function clangForTests(what: string): boolean {
  if (!crossCompilerForTests(what)) return false;
  const runs = (cmd: string): boolean => {
    try {
      execFileSync(cmd, ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (runs("clang") && runs("ld.lld")) return true;
  if (inCi()) throw new Error(`clang or ld.lld not found and CI=true: ${what} must run in CI (.ci/run installs clang and lld)`);
  console.warn(`clang or ld.lld not found: SKIPPING ${what} (apt-get install clang lld)`);
  return false;
}
