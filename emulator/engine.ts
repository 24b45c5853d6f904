// Which execution engine runs guest code: the interpreter (cpu.ts, the reference) or the
// WebAssembly translator (jit/). Both give the same architectural results, instruction for
// instruction; the interpreter is the one to trust when debugging the other.

export const ENGINES = ["interp", "jit"] as const;
export type Engine = (typeof ENGINES)[number];

export function isEngine(s: string): s is Engine {
  return (ENGINES as readonly string[]).includes(s);
}

/** An environment variable where there is a process (the emulator also runs in a browser). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/** The engine a CPU gets when none is named: NVLAB_ENGINE if set (tests run the suite under both), else the translator. */
export function defaultEngine(): Engine {
  const env = envVar("NVLAB_ENGINE");
  if (env === undefined || env === "") return "jit";
  if (!isEngine(env)) throw new Error(`NVLAB_ENGINE=${env}: expected one of ${ENGINES.join(", ")}`);
  return env;
}
