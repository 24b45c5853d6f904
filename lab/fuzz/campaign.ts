// A fuzz campaign: the runs of one shard, done in this thread or spread over worker threads, and
// their results in run order whatever the number of workers (each run depends on (seed, index)
// alone, so the results are too).

import { type CaseResult, runCase, type RunCaseOptions } from "./run_case.ts";
import { FuzzWorkers } from "./workers.ts";

export interface Shard {
  /** This shard's number, 0 ≤ index < count. */
  index: number;
  count: number;
}

export interface CampaignOptions extends RunCaseOptions {
  /** The campaign's size: runs 0 .. runs-1, of which the shard takes its own. */
  runs?: number;
  /** Stop starting runs after this long (the runs under way finish). */
  seconds?: number;
  shard?: Shard;
  /** Worker threads (1: runs in this thread). */
  jobs?: number;
  /** Asked before each run is started: true stops the campaign there (an interrupt). */
  stop?: () => boolean;
  /** Each run as it finishes (in finishing order). */
  onResult?: (r: CaseResult) => void;
}

export interface CampaignResult {
  /** In run order. */
  results: CaseResult[];
  elapsedMs: number;
  /** Stopped early by `stop` (the results are the runs started before). */
  interrupted?: boolean;
}

/** The run indices of the shard, in order, while `more()` allows. */
function* shardIndices(o: CampaignOptions, more: () => boolean): Generator<number> {
  const shard = o.shard ?? { index: 0, count: 1 };
  for (let i = shard.index; (o.runs === undefined || i < o.runs) && more(); i += shard.count) yield i;
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const t0 = Date.now();
  const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
  const more = (): boolean => Date.now() < deadline && !(o.stop?.() ?? false);
  const indices = shardIndices(o, more);
  const { onResult: _o, stop: _s, ...caseOptions } = o;
  const results: CaseResult[] = [];
  const done = (r: CaseResult): void => {
    results.push(r);
    o.onResult?.(r);
  };
  const jobs = o.jobs ?? 1;
  if (jobs <= 1) {
    for (const i of indices) {
      done(await runCase(i, caseOptions));
      // A run awaits only settled promises: let the event loop turn, so an interrupt is seen.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } else {
    const workers = new FuzzWorkers(jobs, caseOptions);
    try {
      await workers.runAll(indices, done);
    } finally {
      await workers.close();
    }
  }
  results.sort((a, b) => a.index - b.index);
  return { results, elapsedMs: Date.now() - t0 };
}
