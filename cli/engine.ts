// `--engine interp|jit`: which engine runs a command's guest code (emulator/engine.ts). Without the
// option, NVLAB_ENGINE decides (else the translator), and a scenario's vm.engine over both.

import { Option } from "commander";
import { defaultEngine, type Engine, ENGINES } from "../emulator/engine.ts";
import { UsageError } from "./errors.ts";

/** The option, with commander checking the choice (its error lists them). */
export function engineOption(): Option {
  return new Option(
    "--engine <engine>",
    "execution engine: interp (the reference interpreter) or jit (guest code translated to WebAssembly) (default: $NVLAB_ENGINE, else jit)",
  ).choices(ENGINES);
}

/**
 * The engine given on the command line, after checking NVLAB_ENGINE (the default when none is
 * given), so a bad value there is a usage error before anything runs rather than a failure inside.
 */
export function givenEngine(given: Engine | undefined): Engine | undefined {
  try {
    defaultEngine();
  } catch (e) {
    if (given === undefined) throw new UsageError(`${(e as Error).message} (or give --engine)`);
  }
  return given;
}

/** The engine a command without scenarios runs on: --engine, else NVLAB_ENGINE, else the translator. */
export function commandEngine(given: Engine | undefined): Engine {
  return givenEngine(given) ?? defaultEngine();
}
