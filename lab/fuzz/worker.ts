// A campaign's worker thread: runs the case of each index it receives and posts the result back.

import { parentPort, workerData } from "node:worker_threads";
import { runCase, type RunCaseOptions } from "./run_case.ts";
import type { WorkerReply } from "./workers.ts";

const options = workerData as RunCaseOptions;
const port = parentPort!;

port.on("message", (index: number) => {
  runCase(index, options).then(
    (result) => port.postMessage({ index, result } satisfies WorkerReply),
    (e: unknown) => port.postMessage({ index, error: e instanceof Error ? e.message : String(e) } satisfies WorkerReply),
  );
});
