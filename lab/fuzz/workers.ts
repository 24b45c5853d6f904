// Worker threads for a campaign: each loads the TypeScript sources as the `nvlab` launcher does
// (through tsx's loader, cli/nvlab.js) and runs the cases it is handed, one at a time.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { CaseResult, RunCaseOptions } from "./run_case.ts";

/** What a worker answers for one run. */
export type WorkerReply = { index: number; result: CaseResult } | { index: number; error: string };

/** tsx's ESM API module, as a URL a worker can import. */
function tsxApiUrl(): string {
  const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
  return pathToFileURL(join(dirname(pkg), "dist/esm/api/index.mjs")).href;
}

/** A worker's bootstrap: register tsx's loader in the worker's thread, then load the worker module. */
function bootstrap(): string {
  const main = new URL("./worker.ts", import.meta.url).href;
  return `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(main)}); });`;
}

export class FuzzWorkers {
  private readonly workers: Worker[];

  constructor(jobs: number, options: RunCaseOptions) {
    const code = bootstrap();
    this.workers = Array.from({ length: jobs }, () => new Worker(code, { eval: true, workerData: options }));
  }

  /** Hand out `indices` one at a time to whichever worker is free; `done` gets each result. */
  runAll(indices: Iterator<number>, done: (r: CaseResult) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let busy = 0;
      let failed = false;
      const fail = (e: Error): void => {
        if (!failed) reject(e);
        failed = true;
      };
      const feed = (w: Worker): void => {
        if (failed) return;
        const next = indices.next();
        if (next.done) {
          if (busy === 0) resolve();
          return;
        }
        busy++;
        w.postMessage(next.value);
      };
      for (const w of this.workers) {
        w.on("message", (m: WorkerReply) => {
          busy--;
          if ("error" in m) return fail(new Error(`run ${m.index}: ${m.error}`));
          done(m.result);
          feed(w);
        });
        w.on("error", fail);
        w.on("exit", (code) => {
          if (code !== 0) fail(new Error(`a fuzz worker exited with status ${code}`));
        });
      }
      for (const w of this.workers) feed(w);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
