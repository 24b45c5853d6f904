// A turn of the event loop between chunks of a long run, so a `continue` can be interrupted: Node's
// setImmediate where there is one (the CLI), else a MessageChannel message (a browser worker), which
// unlike setTimeout is not clamped to 4 ms once calls nest.

type Resume = () => void;

/** The message channel's waiters, oldest first; one message is posted per waiter. */
const waiting: Resume[] = [];
let channel: MessagePort | null = null;

function messagePort(): MessagePort {
  if (channel === null) {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => waiting.shift()?.();
    channel = ch.port2;
  }
  return channel;
}

/** Resolves after the host has had a chance to run other tasks (timers, messages, I/O). */
export function yieldToHost(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: Resume) => unknown }).setImmediate;
  if (typeof immediate === "function") return new Promise((resolve) => immediate(resolve));
  if (typeof MessageChannel === "function") {
    return new Promise((resolve) => {
      waiting.push(resolve);
      messagePort().postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
