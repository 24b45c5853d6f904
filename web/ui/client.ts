// The page's side of the worker: numbered requests matched to their replies, and the stream of
// states the worker posts on its own. Everything else on the page talks to the VM through here.

import type { LabMessage, LabRequest, LabRequestBody, LabState, SourceError } from "../protocol.ts";

/** What the client needs of a Worker, so tests can stand a fake in for it. */
export interface LabPort {
  postMessage(message: LabRequest): void;
  addEventListener(type: "message", listener: (e: MessageEvent<LabMessage>) => void): void;
  addEventListener(type: "error", listener: (e: ErrorEvent) => void): void;
}

/** A request the worker refused; a load's assembler or scenario errors come placed in files. */
export class LabRequestError extends Error {
  readonly sourceErrors: SourceError[];

  constructor(message: string, sourceErrors: SourceError[] = []) {
    super(message);
    this.name = "LabRequestError";
    this.sourceErrors = sourceErrors;
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

export class LabClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly stateListeners = new Set<(state: LabState) => void>();
  private readonly failureListeners = new Set<(message: string) => void>();
  private latest: LabState | null = null;

  constructor(private readonly port: LabPort) {
    port.addEventListener("message", (e) => this.receive(e.data));
    port.addEventListener("error", (e) => this.fail(`the lab's worker failed: ${e.message || "unknown error (see the browser's console)"}`));
  }

  /** The worker bundled next to the page (web/build.ts writes it as worker.js). */
  static start(): LabClient {
    return new LabClient(new Worker(new URL("worker.js", import.meta.url), { type: "module" }));
  }

  /** The newest state the worker posted, null before the first. */
  get state(): LabState | null {
    return this.latest;
  }

  request(body: LabRequestBody): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.port.postMessage({ ...body, id });
      } catch (e) {
        // A value structured clone refuses: the request never left.
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Calls `listener` with every state from now on; returns the unsubscribe. */
  onState(listener: (state: LabState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Calls `listener` when the worker itself dies (every pending request is refused with the same words). */
  onFailure(listener: (message: string) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  private receive(msg: LabMessage): void {
    if (msg.type === "state") {
      this.latest = msg.state;
      for (const l of this.stateListeners) l(msg.state);
      return;
    }
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new LabRequestError(msg.error, msg.sourceErrors));
  }

  private fail(message: string): void {
    for (const p of this.pending.values()) p.reject(new LabRequestError(message));
    this.pending.clear();
    for (const l of this.failureListeners) l(message);
  }
}
