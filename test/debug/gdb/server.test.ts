import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BUSY_MESSAGE, GdbServer } from "../../../debug/gdb/server.ts";
import { OVERSIZE_REPLY } from "../../../debug/gdb/stub.ts";
import { PacketDecoder, frame, type Incoming } from "../../../debug/gdb/packet.ts";
import { FakeTarget } from "./fake_target.ts";

/** A raw TCP client speaking RSP. */
class Client {
  private readonly decoder = new PacketDecoder();
  private items: Incoming[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.items.push(...this.decoder.push(d));
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new Client(s)));
      s.once("error", reject);
    });
  }

  send(data: string): void {
    this.socket.write(data, "latin1");
  }

  /** The next packet (acks skipped), or null if the connection closed first. */
  async packet(): Promise<string | null> {
    for (;;) {
      const i = this.items.findIndex((x) => x.kind === "packet");
      if (i >= 0) {
        const p = this.items.splice(0, i + 1).at(-1) as { data: string };
        return p.data;
      }
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async ask(data: string): Promise<string | null> {
    this.send(frame(data));
    return this.packet();
  }
}

let server: GdbServer | null = null;
let logs: string[] = [];

afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(target = new FakeTarget()) {
  // A fresh array: a previous test's server may still log its client's late disconnect.
  const mine: string[] = [];
  logs = mine;
  server = await GdbServer.listen(target, { port: 0, log: (l) => mine.push(l) });
  return target;
}

describe("GdbServer", () => {
  it("listens on a free port of 127.0.0.1 and serves RSP", async () => {
    await start();
    expect(server!.port).toBeGreaterThan(0);
    const c = await Client.open(server!.port);
    expect(await c.ask("qC")).toBe("QC01");
    expect(await c.ask("m40000000,4")).toBe("00000000");
    c.socket.destroy();
  });

  it("refuses a second client politely and keeps serving the first", async () => {
    await start();
    const first = await Client.open(server!.port);
    expect(await first.ask("qC")).toBe("QC01");
    const second = await Client.open(server!.port);
    expect(await second.ask("qSupported:swbreak+")).toBe("E." + BUSY_MESSAGE);
    expect(await second.packet()).toBeNull(); // closed by the server
    expect(logs.join("\n")).toMatch(/refused a second connection/);
    expect(await first.ask("qAttached")).toBe("1");
    first.socket.destroy();
  });

  it("a client vanishing mid-continue stops the guest; the next client finds it stopped", async () => {
    const target = await start();
    const first = await Client.open(server!.port);
    first.send(frame("vCont;c"));
    while (target.steps === 0) await new Promise((r) => setTimeout(r, 5));
    first.socket.destroy();
    while (!logs.some((l) => l.includes("disconnected"))) await new Promise((r) => setTimeout(r, 5));
    const steps = target.steps;
    await new Promise((r) => setTimeout(r, 20));
    expect(target.steps).toBe(steps);
    const next = await Client.open(server!.port);
    expect(await next.ask("?")).toBe("T05thread:01;nvlab-level:2;");
    next.socket.destroy();
  });

  it("Ctrl-C over TCP interrupts a continue", async () => {
    const target = await start();
    const c = await Client.open(server!.port);
    expect(await c.ask("QStartNoAckMode")).toBe("OK");
    c.send(frame("vCont;c"));
    while (target.steps === 0) await new Promise((r) => setTimeout(r, 5));
    c.send("\x03");
    let p = await c.packet();
    if (p?.startsWith("O")) p = await c.packet();
    expect(p).toBe("T02thread:01;nvlab-level:2;");
    c.socket.destroy();
  });

  it("k shuts the server down", async () => {
    await start();
    const port = server!.port;
    const c = await Client.open(port);
    c.send(frame("k"));
    await server!.closed();
    expect(await c.packet()).toBeNull();
    await expect(Client.open(port)).rejects.toThrow(/ECONNREFUSED/);
    server = null;
  });
});

describe("GdbServer shutdown after the run", () => {
  it("closes when a client leaves and closeAfterClient says the run is over", async () => {
    const target = new FakeTarget();
    const mine: string[] = [];
    server = await GdbServer.listen(target, { port: 0, log: (l) => mine.push(l), closeAfterClient: () => target.exited });
    const first = await Client.open(server.port);
    expect(await first.ask("qC")).toBe("QC01");
    first.socket.destroy();
    await until(() => mine.some((l) => l.includes("waiting for the next connection")));
    target.exited = true;
    const second = await Client.open(server.port);
    expect(await second.ask("?")).toBe("W07");
    second.socket.destroy();
    await server.closed();
    expect(mine.at(-1)).toBe("gdb disconnected and the run is over; shutting down");
    server = null;
  });
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe("GdbServer close", () => {
  it("does not wait for a refused client that never speaks", async () => {
    const mine: string[] = [];
    server = await GdbServer.listen(new FakeTarget(), { port: 0, log: (l) => mine.push(l) });
    const first = await Client.open(server.port);
    expect(await first.ask("qC")).toBe("QC01");
    const silent = await Client.open(server.port);
    await until(() => mine.some((l) => l.startsWith("refused")));
    const t0 = Date.now();
    await server.close();
    server = null;
    expect(Date.now() - t0).toBeLessThan(2000);
    await until(() => silent.closed && first.closed);
  });
});

describe("GdbServer and packets over PacketSize", () => {
  it("answers a 1 MB packet with the error, then '?', and still answers new connections", async () => {
    await start();
    const c = await Client.open(server!.port);
    c.send(frame("X40000000,100000:" + "a".repeat(1 << 20)));
    expect(await c.packet()).toBe(OVERSIZE_REPLY);
    expect(await c.ask("?")).toBe("T05thread:01;nvlab-level:2;");
    const second = await Client.open(server!.port);
    expect(await second.ask("qSupported")).toBe("E." + BUSY_MESSAGE);
    c.socket.destroy();
    await until(() => logs.some((l) => l.includes("waiting for the next connection")));
    const next = await Client.open(server!.port);
    expect(await next.ask("qC")).toBe("QC01");
    next.socket.destroy();
  });

  it("drops a stream with no '#' at the limit, answers the packets after it, and refuses a flooding newcomer", async () => {
    await start();
    const c = await Client.open(server!.port);
    c.send("$" + "z".repeat(1 << 20));
    expect(await c.packet()).toBe(OVERSIZE_REPLY);
    c.send("z".repeat(1 << 20));
    expect(await c.ask("qAttached")).toBe("1");
    // A second client whose first packet is over the limit (and never ends) is told it is not served.
    const second = await Client.open(server!.port);
    second.send("$" + "z".repeat(1 << 20));
    expect(await second.packet()).toBe("E." + BUSY_MESSAGE);
    expect(await c.ask("qC")).toBe("QC01");
    expect(logs).toContain("refused a packet longer than PacketSize (16384 bytes)");
    c.socket.destroy();
  });
});
