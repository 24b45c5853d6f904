// The shape every benchmark returns, so one runner can print, plot and report them all.

export interface BenchContext {
  /** `--quick`: small sizes and few repeats, so the whole suite runs in under a minute (CI). */
  quick: boolean;
  /** Seed for every random choice a benchmark makes. */
  seed: number;
  /** Progress line on stderr (never on stdout, which carries tables or JSON). */
  progress(message: string): void;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface PlotSpec {
  /** File name stem under bench/out/ (`<name>.svg`). */
  name: string;
  title: string;
  /** A vega-lite spec with its data inline. */
  spec: Record<string, unknown>;
}

/** A pass/fail bar the issue sets, checked on numbers measured in this run. */
export interface Bar {
  name: string;
  pass: boolean;
  detail: string;
}

export interface BenchResult {
  id: string;
  title: string;
  tables: Table[];
  plots: PlotSpec[];
  bars: Bar[];
  /** Honest remarks: where a strategy loses, what a number does not show. */
  notes: string[];
  /** Raw measurements for --json. */
  data: unknown;
}

export type Bench = (ctx: BenchContext) => Promise<BenchResult>;
