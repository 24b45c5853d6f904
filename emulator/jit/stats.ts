// What the translator has done so far, for benchmarks and `--json` reports.

export interface JitStats {
  /** Translation units compiled (a unit is the code reachable inside one 4 KiB page from its entries). */
  compiles: number;
  /** Guest instructions translated, over all compiles. */
  instructions: number;
  /** Wall time spent generating and compiling WebAssembly, seconds. */
  compileSeconds: number;
  /** WebAssembly bytes currently held by the code cache. */
  cacheBytes: number;
  /** The code cache's bound in WebAssembly bytes; past it the oldest units are dropped. */
  cacheLimitBytes: number;
  /** Units dropped because the cache was full. */
  evictions: number;
  /** Units dropped because their code was written or their page went away. */
  invalidations: number;
  /** Instructions retired inside translated code (the rest ran in the interpreter). */
  jitInstructions: number;
}
