// `--engine interp|jit` on every command that runs guest code: commander checks the choice, a bad
// NVLAB_ENGINE is a usage error, and the engine named reaches every CPU the command builds (the
// Cpu class is wrapped to record each one's engine) and the --json output.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { frame } from "../../debug/gdb/packet.ts";
import { nvlabInProcess } from "./in_process.ts";

const built = vi.hoisted(() => ({ engines: [] as string[] }));

vi.mock("../../emulator/cpu.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../emulator/cpu.ts")>();
  class RecordingCpu extends m.Cpu {
    constructor(...args: ConstructorParameters<typeof m.Cpu>) {
      super(...args);
      built.engines.push(this.engine);
    }
  }
  return { ...m, Cpu: RecordingCpu };
});

const HELLO = ["--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000"];
const EXEC_PROGRAM = "guests/demo/hello.S";

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function connectWhenListening(port: number): Promise<Socket> {
  for (let i = 0; ; i++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () => resolve(s));
        s.once("error", reject);
      });
    } catch (e) {
      if (i > 500) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

beforeEach(() => {
  built.engines.length = 0;
  // The suite's own engine must not be what makes `--engine jit` look obeyed (the jit project sets NVLAB_ENGINE=jit).
  vi.stubEnv("NVLAB_ENGINE", "interp");
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("--engine", () => {
  for (const command of ["exec", "run", "debug", "gdbserver", "fuzz"]) {
    it(`${command}: a value other than interp or jit is refused with the choices`, async () => {
      const args = command === "exec" ? [EXEC_PROGRAM] : command === "fuzz" ? ["--runs", "1"] : HELLO;
      const r = await nvlabInProcess(command, ...args, "--engine", "tcg");
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/option '--engine <engine>' argument 'tcg' is invalid\. Allowed choices are interp, jit/);
      expect(built.engines).toEqual([]);
    });

    it(`${command}: --help documents it`, async () => {
      const help = (await nvlabInProcess(command, "--help")).stdout.replace(/\s+/g, " ");
      expect(help).toMatch(/--engine <engine> execution engine: interp \(the reference interpreter\) or jit/);
      expect(help).toMatch(/\(default: \$NVLAB_ENGINE, else jit\) \(choices: "interp", "jit"\)/);
    });
  }

  it("exec: the CPU runs on the engine named, and --json says which", async () => {
    for (const engine of ["jit", "interp"]) {
      built.engines.length = 0;
      const r = await nvlabInProcess("exec", EXEC_PROGRAM, "--json", "--engine", engine);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).engine).toBe(engine);
      expect(built.engines).toEqual([engine]);
    }
  });

  it("exec: without --engine, NVLAB_ENGINE decides; a bad NVLAB_ENGINE is a usage error unless --engine is given", async () => {
    vi.stubEnv("NVLAB_ENGINE", "jit");
    let r = await nvlabInProcess("exec", EXEC_PROGRAM, "--json");
    expect(JSON.parse(r.stdout).engine).toBe("jit");
    vi.stubEnv("NVLAB_ENGINE", "interp");
    r = await nvlabInProcess("exec", EXEC_PROGRAM, "--json");
    expect(JSON.parse(r.stdout).engine).toBe("interp");
    vi.stubEnv("NVLAB_ENGINE", "fast");
    r = await nvlabInProcess("exec", EXEC_PROGRAM, "--json");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("nvlab: NVLAB_ENGINE=fast: expected one of interp, jit (or give --engine)\n");
    r = await nvlabInProcess("exec", EXEC_PROGRAM, "--json", "--engine", "jit");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).engine).toBe("jit");
  });

  it("run: every vCPU's CPU runs on the engine named, and --json says which", async () => {
    const r = await nvlabInProcess("run", ...HELLO, "--vcpus", "2", "--json", "--engine", "jit");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).engine).toBe("jit");
    expect(built.engines).toEqual(["jit", "jit"]);
    vi.stubEnv("NVLAB_ENGINE", "nope");
    const bad = await nvlabInProcess("run", ...HELLO);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("NVLAB_ENGINE=nope: expected one of interp, jit");
  });

  it("run SCENARIO: --engine wins over the scenario's vm.engine, which wins over NVLAB_ENGINE; the result says which ran", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-engine-"));
    try {
      // Image paths are relative to the scenario file: point them back at the repository's.
      const text = readFileSync("scenarios/tlb_stale.yaml", "utf8").replace(/file: \.\.\//g, `file: ${process.cwd()}/`).replace(/^vm:\n/m, "vm:\n  engine: jit\n");
      expect(text).toContain("  engine: jit\n");
      const withEngine = join(dir, "jit.yaml");
      writeFileSync(withEngine, text);
      vi.stubEnv("NVLAB_ENGINE", "interp");
      let r = await nvlabInProcess("run", withEngine, "--json");
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).engine).toBe("jit");
      expect(new Set(built.engines)).toEqual(new Set(["jit"]));
      built.engines.length = 0;
      r = await nvlabInProcess("run", withEngine, "--json", "--engine", "interp");
      expect(JSON.parse(r.stdout).engine).toBe("interp");
      expect(new Set(built.engines)).toEqual(new Set(["interp"]));
      vi.stubEnv("NVLAB_ENGINE", "jit");
      built.engines.length = 0;
      r = await nvlabInProcess("run", "scenarios/tlb_stale.yaml", "--json");
      expect(JSON.parse(r.stdout).engine).toBe("jit");
      expect(new Set(built.engines)).toEqual(new Set(["jit"]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a scenario's vm.engine must name an engine", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-engine-"));
    try {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, `name: bad\nimages:\n  l1: {file: ${process.cwd()}/guests/l1/hyp.S}\nvm:\n  engine: qemu\n`);
      const r = await nvlabInProcess("run", file);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("vm.engine");
      expect(r.stderr).toContain("expected one of: interp, jit");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("debug: the session's CPUs run on the engine named", async () => {
    const stdin = vi.spyOn(process, "stdin", "get").mockReturnValue(Readable.from(["quit\n"]) as unknown as typeof process.stdin);
    try {
      const r = await nvlabInProcess("debug", ...HELLO, "--engine", "jit");
      expect(r.status).toBe(0);
      expect(built.engines).toEqual(["jit"]);
    } finally {
      stdin.mockRestore();
    }
  });

  it("gdbserver: the served VM's CPUs run on the engine named", async () => {
    const port = await freePort();
    const served = nvlabInProcess("gdbserver", "--port", String(port), ...HELLO, "--engine", "jit");
    const socket = await connectWhenListening(port);
    socket.write(frame("k")); // gdb's kill ends the server
    const r = await served;
    socket.destroy();
    expect(r.status).toBe(0);
    expect(built.engines).toEqual(["jit"]);
  });

  it("fuzz: every run's CPUs run on the engine named, the failure files name it, and --json says which", async () => {
    const out = mkdtempSync(join(tmpdir(), "nvlab-engine-fuzz-"));
    try {
      // Run 0 of seed 2 finds the RFC's flaw (invariant S), so files are written.
      const r = await nvlabInProcess("fuzz", "--strategy", "rfc-rbtree", "--runs", "1", "--seed", "2", "--out", out, "--json", "--engine", "jit");
      expect(r.status).toBe(2);
      expect(readdirSync(out).length).toBeGreaterThan(0);
      expect(JSON.parse(r.stdout).engine).toBe("jit");
      expect(built.engines.length).toBeGreaterThan(0);
      expect(new Set(built.engines)).toEqual(new Set(["jit"]));
      for (const f of readdirSync(out)) expect(readFileSync(join(out, f), "utf8")).toMatch(/^ {2}engine: jit$/m);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
