// The worker's entry: the VM runs here, off the page's thread, so the page stays responsive while a
// guest runs. Requests are served one at a time in arrival order, except `pause`, which is served
// at once so it can stop a running `run` (the run yields to the message queue between chunks).

import { setHostFiles } from "../host_files.browser.ts";
import type { LabMessage, LabRequest } from "../protocol.ts";
import { LabLoadError, LabVm } from "./lab_vm.ts";
import { serveRequest } from "./serve.ts";

interface WorkerScope {
  postMessage(m: LabMessage): void;
  addEventListener(type: "message", fn: (e: { data: LabRequest }) => void): void;
}

const scope = globalThis as unknown as WorkerScope;

const vm = new LabVm({
  post: (state) => scope.postMessage({ type: "state", state }),
  setFiles: (files) => setHostFiles(files),
  now: () => performance.now(),
});

let queue: Promise<void> = Promise.resolve();

scope.addEventListener("message", (e) => {
  const req = e.data;
  if (req.op === "pause") {
    const was = vm.interrupt();
    scope.postMessage({ type: "reply", id: req.id, ok: true, result: was });
    return;
  }
  queue = queue.then(() => answer(req));
});

async function answer(req: LabRequest): Promise<void> {
  try {
    const result = await serveRequest(vm, req);
    scope.postMessage({ type: "reply", id: req.id, ok: true, result });
  } catch (e) {
    const sourceErrors = e instanceof LabLoadError ? e.sourceErrors : undefined;
    scope.postMessage({ type: "reply", id: req.id, ok: false, error: (e as Error).message ?? String(e), ...(sourceErrors ? { sourceErrors } : {}) });
  }
}
