// The TCP side of the stub: listen on 127.0.0.1, serve one gdb at a time, refuse a second one
// with a message, and survive a client that disappears (even mid-continue): the guest stops
// where it was and the server waits for the next connection.

import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { PacketDecoder, frame } from "./packet.ts";
import { GdbStub, PACKET_SIZE } from "./stub.ts";
import type { GdbTarget } from "./target.ts";

export interface GdbServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Connection events and protocol diagnostics, one line each. */
  log?: (line: string) => void;
  /** After a client has gone: return true to shut the server down (the run is over). */
  closeAfterClient?: () => boolean;
}

export const BUSY_MESSAGE = "another gdb is already connected to this nvlab gdbserver (one client at a time)";

export class GdbServer {
  private client: { socket: Socket; stub: GdbStub } | null = null;
  private readonly done: Promise<void>;
  private finish!: () => void;
  private shuttingDown = false;
  /** Refused connections still being told so (closed with the server). */
  private readonly refused = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: GdbTarget,
    private readonly opts: GdbServerOptions,
  ) {
    this.done = new Promise((r) => (this.finish = r));
    server.on("connection", (s) => this.accept(s));
  }

  static async listen(target: GdbTarget, opts: GdbServerOptions): Promise<GdbServer> {
    const server = createServer();
    const gs = new GdbServer(server, target, opts);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return gs;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves once the server has shut down (gdb killed the VM, or `close`). */
  closed(): Promise<void> {
    return this.done;
  }

  async close(): Promise<void> {
    if (this.shuttingDown) return this.done;
    this.shuttingDown = true;
    const c = this.client;
    if (c) {
      await c.stub.disconnect();
      c.socket.destroy();
    }
    for (const s of this.refused) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.finish();
  }

  /**
   * Answer the newcomer's first packet (qSupported) with an `E.` error, which gdb prints as
   * "Remote failure reply: E.…", then hang up.
   */
  private refuse(socket: Socket, peer: string): void {
    this.log(`refused a second connection from ${peer}: ${BUSY_MESSAGE}`);
    const decoder = new PacketDecoder(PACKET_SIZE);
    this.refused.add(socket);
    socket.on("close", () => this.refused.delete(socket));
    socket.setEncoding("latin1");
    socket.on("error", () => {});
    socket.on("data", (d: string) => {
      if (decoder.push(d).some((i) => i.kind === "packet" || i.kind === "oversize")) socket.end("+" + frame("E." + BUSY_MESSAGE), "latin1");
    });
    // A client that never speaks is not kept forever.
    socket.setTimeout(5000, () => socket.destroy());
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private accept(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    if (this.client || this.shuttingDown) {
      this.refuse(socket, peer);
      return;
    }
    this.log(`gdb connected from ${peer}`);
    const stub = new GdbStub(this.target, (b) => {
      if (!socket.destroyed) socket.write(b, "latin1");
    }, {
      log: (l) => this.log(l),
      onKill: () => {
        this.log("gdb killed the VM; shutting down");
        void this.close();
      },
      onDetach: () => this.log("gdb detached; the guest stays stopped, waiting for the next connection"),
    });
    const client = { socket, stub };
    this.client = client;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => stub.receive(d));
    socket.on("error", (e) => this.log(`connection error: ${e.message}`));
    socket.on("close", () => {
      if (this.client !== client) return;
      void stub.disconnect().then(() => {
        if (this.client === client) this.client = null;
        if (this.shuttingDown) return;
        if (this.opts.closeAfterClient?.()) {
          this.log("gdb disconnected and the run is over; shutting down");
          void this.close();
        } else this.log("gdb disconnected; waiting for the next connection");
      });
    });
  }
}
