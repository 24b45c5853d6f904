// `nvlab gdbserver` through the real bin: the announcement, the symbol file, a raw RSP client that
// runs the guest to its end (the server then exits), a scenario served and killed, usage errors.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PacketDecoder, frame, hexToText } from "../../debug/gdb/packet.ts";
import { nvlab } from "../helpers/bin.ts";

const dir = mkdtempSync(join(tmpdir(), "nvlab-gdbserver-"));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});


interface Server { child: ChildProcess; port: number; out: () => string; err: () => string; exit: Promise<number | null> }

/** Start the bin and wait for its "listening on" line. */
async function start(...args: string[]): Promise<Server> {
  const child = spawn("node", ["cli/nvlab.js", "gdbserver", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (out += d));
  child.stderr.on("data", (d: string) => (err += d));
  const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  for (let i = 0; i < 3000 && !/listening on 127\.0\.0\.1:\d+\n/.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
  const m = /listening on 127\.0\.0\.1:(\d+)\n/.exec(out);
  if (!m) throw new Error(`no listening line; stdout: ${out}\nstderr: ${err}`);
  return { child, port: Number(m[1]), out: () => out, err: () => err, exit };
}

/** A minimal RSP client: send a packet, collect reply packets until `until` matches one. */
class Rsp {
  private readonly decoder = new PacketDecoder();
  private packets: string[] = [];
  private wake: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      for (const i of this.decoder.push(d)) if (i.kind === "packet") this.packets.push(i.data);
      this.wake?.();
    });
  }

  static open(port: number): Promise<Rsp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => resolve(new Rsp(s)));
      s.once("error", reject);
    });
  }

  async request(data: string, until: (p: string) => boolean = () => true): Promise<string[]> {
    this.socket.write(frame(data), "latin1");
    const got: string[] = [];
    for (;;) {
      while (this.packets.length > 0) {
        const p = this.packets.shift()!;
        got.push(p);
        if (until(p)) return got;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

describe("nvlab gdbserver (the real bin)", () => {
  it("announces the port and how to connect, writes the symbol file, runs the guest for a client", async () => {
    const elf = join(dir, "hello.elf");
    const s = await start("--symbol-file", elf, "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000");
    expect(s.out()).toContain(`connect with: gdb-multiarch -ex 'set architecture aarch64' -ex 'symbol-file ${elf}' -ex 'target remote 127.0.0.1:${s.port}'`);
    expect(existsSync(elf)).toBe(true);
    expect([...readFileSync(elf).subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);

    const c = await Rsp.open(s.port);
    expect((await c.request("qSupported:swbreak+"))[0]).toMatch(/qXfer:features:read\+/);
    expect(await c.request("QStartNoAckMode")).toEqual(["OK"]);
    expect(await c.request("?")).toEqual(["T05thread:01;nvlab-level:1;"]);
    const replies = await c.request("vCont;c", (p) => p.startsWith("W"));
    expect(replies.at(-1)).toBe("W00");
    expect(hexToText(replies[0]!.slice(1))).toBe("[nvlab] the run is over: PSCI SYSTEM_OFF, exit code 0\n");
    c.socket.destroy();
    // Nothing is left to debug after SYSTEM_OFF: the server ends once the client has gone.
    expect(await s.exit).toBe(0);
    expect(s.out()).toContain("hello from L2\n");
    expect(s.err()).toContain("nvlab gdbserver: gdb connected from 127.0.0.1:");
    expect(s.err()).toContain("gdb disconnected and the run is over; shutting down");
  });

  it("refuses a 1 MB packet and one that never ends with the PacketSize error, and keeps answering", async () => {
    const s = await start("--l1", "guests/l1/hyp.S");
    const c = await Rsp.open(s.port);
    expect((await c.request("qSupported:swbreak+"))[0]).toMatch(/(^|;)PacketSize=4000(;|$)/);
    const refused = "E.packet longer than PacketSize (0x4000 bytes) refused";
    expect(await c.request("X40000000,100000:" + "a".repeat(1 << 20))).toEqual([refused]);
    c.socket.write("$" + "z".repeat(1 << 20), "latin1");
    expect(await c.request("?", (p) => p.startsWith("T"))).toEqual([refused, "T05thread:01;nvlab-level:1;"]);
    const second = await Rsp.open(s.port);
    expect((await second.request("qSupported"))[0]).toMatch(/^E\.another gdb is already connected/);
    c.socket.write(frame("k"), "latin1");
    expect(await s.exit).toBe(0);
    expect(s.err()).toContain("nvlab gdbserver: refused a packet longer than PacketSize (16384 bytes)");
  });

  it("serves a scenario's VM; gdb's kill ends the server", async () => {
    const s = await start("scenarios/accel_affected.yaml");
    const c = await Rsp.open(s.port);
    expect(await c.request("?")).toEqual(["T05thread:01;nvlab-level:1;"]);
    c.socket.write(frame("k"), "latin1");
    expect(await s.exit).toBe(0);
    expect(s.err()).toContain("gdb killed the VM; shutting down");
  });

  it("usage errors: no L1, a bad port, a scenario with --l1, an unwritable symbol file", async () => {
    const [none, port, both, elf] = await Promise.all([
      nvlab("gdbserver"),
      nvlab("gdbserver", "--port", "http", "--l1", "guests/l1/hyp.S"),
      nvlab("gdbserver", "scenarios/accel_affected.yaml", "--l1", "guests/l1/hyp.S"),
      nvlab("gdbserver", "--port", "0", "--symbol-file", join(dir, "no/such/dir/x.elf"), "--l1", "guests/l1/hyp.S"),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("nvlab: gdbserver: give an L1 (--l1 FILE.S) or a scenario file (nvlab gdbserver SCENARIO.yaml)");
    expect(port.code).toBe(1);
    expect(port.stderr).toContain("--port: 'http' is not a TCP port");
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("gdbserver: --l1 cannot be combined with a scenario file");
    expect(elf.code).toBe(1);
    expect(elf.stderr).toMatch(/--symbol-file: cannot write .*x\.elf/);
  });
});
