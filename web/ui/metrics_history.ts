// The counters over time, as the page saw them: one sample per state the worker posted. A run of
// millions of instructions posts many states; the history keeps at most `max` samples by thinning
// the older half (every other sample goes), so recent steps stay fine-grained and the whole run
// stays in view at a coarser grain. Going back in time (goto, reverse-step, a new run) cuts the
// samples after the new step: the counters there are the past's, not a later future's.

export interface Sample {
  step: number;
  values: Readonly<Record<string, number>>;
}

export class MetricsHistory {
  private list: Sample[] = [];
  private readonly seen = new Set<string>();
  private changes = 0;

  constructor(readonly max = 2000) {
    if (max < 4) throw new RangeError(`a metrics history needs room for at least 4 samples, not ${max}`);
  }

  /** Counts every change, so a drawing can tell whether it is out of date. */
  get revision(): number {
    return this.changes;
  }

  get samples(): readonly Sample[] {
    return this.list;
  }

  /** Every counter name any sample had, in the order first seen. */
  get names(): ReadonlySet<string> {
    return this.seen;
  }

  clear(): void {
    this.changes++;
    this.list = [];
    this.seen.clear();
  }

  /** Record the counters at `step`. */
  push(step: number, values: Readonly<Record<string, number>>): void {
    this.changes++;
    for (const k of Object.keys(values)) this.seen.add(k);
    this.cutAfter(step);
    const last = this.list[this.list.length - 1];
    // A second state at the same step (a stop after a run) replaces the first.
    if (last !== undefined && last.step === step) this.list[this.list.length - 1] = { step, values };
    else this.list.push({ step, values });
    if (this.list.length > this.max) this.list = thin(this.list);
  }

  /** Drop the samples after `step` (time went back). */
  private cutAfter(step: number): void {
    let n = this.list.length;
    while (n > 0 && this.list[n - 1]!.step > step) n--;
    if (n < this.list.length) this.list.length = n;
  }
}

/** Every other sample of the older half, and the newer half whole. */
export function thin(list: readonly Sample[]): Sample[] {
  const half = Math.floor(list.length / 2);
  const older = list.slice(0, half).filter((_, i) => i % 2 === 0);
  return older.concat(list.slice(half));
}
