// `--json --trace` on a run L0 cannot finish (out of pool pages): stdout still holds one JSON document
// with the trace up to the failure, the console and the metrics; stderr the host error; status 70.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultEngine } from "../../emulator/engine.ts";
import { nvlab } from "../helpers/bin.ts";

const HELLO = ["run", "--l1", "guests/l1/hyp.S", "--l2", "guests/l2/hello.S@0x48000000", "--pool-pages", "3"];

interface HostErrorJson {
  exit?: { kind: string; message: string; status: number; steps: number; report?: { level?: string } };
  outcome?: { kind: string; message: string };
  status?: number;
  ok?: boolean;
  console: string;
  metrics: { exits: Record<string, number> } | null;
  engine: string | null;
  trace?: string[];
}

describe.concurrent("--json --trace when L0 fails mid-run", () => {
  it("a plain run: the trace lines so far, the host error as exit, status 70, the error on stderr", async () => {
    const r = await nvlab(...HELLO, "--json", "--trace");
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^nvlab: host error: host page pool exhausted: all 3 pages \(12 KiB\) in use$/m);
    const j = JSON.parse(r.stdout) as HostErrorJson;
    expect(j.exit).toMatchObject({ kind: "host-error", message: "host page pool exhausted: all 3 pages (12 KiB) in use", status: 70 });
    expect(j.exit?.report?.level).toBe("L1");
    expect(j.engine).toBe(defaultEngine()); // the command inherits NVLAB_ENGINE
    expect(j.trace?.length).toBeGreaterThan(0);
    expect(j.trace?.[0]).toMatch(/^\[ *0\] exit +IABT_LOW from L1 /);
    // One trace line per exit L0 counted before it failed.
    const exits = Object.values(j.metrics?.exits ?? {}).reduce((a, b) => a + b, 0);
    expect(j.trace?.filter((l) => / exit +/.test(l))).toHaveLength(exits);
  });

  it("without --trace: the same document, no trace key", async () => {
    const r = await nvlab(...HELLO, "--json");
    expect(r.code).toBe(70);
    const j = JSON.parse(r.stdout) as HostErrorJson;
    expect(j.exit?.kind).toBe("host-error");
    expect(j).not.toHaveProperty("trace");
  });

  it("a scenario run: ok false, status 70, outcome host-error, and the trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nvlab-host-error-"));
    const file = join(dir, "tiny_pool.yaml");
    writeFileSync(
      file,
      `name: tiny-pool\nimages:\n  l1: {file: ${resolve("guests/l1/hyp.S")}}\n  l2:\n    - {file: ${resolve("guests/l2/hello.S")}, ipa: 0x48000000}\n` +
        "vm:\n  poolPages: 3\nexpect:\n  exitCode: 0\n",
    );
    const r = await nvlab("run", file, "--json", "--trace");
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^nvlab: host error: host page pool exhausted/m);
    const j = JSON.parse(r.stdout) as HostErrorJson;
    expect(j).toMatchObject({ ok: false, status: 70, outcome: { kind: "host-error" } });
    expect(j.trace?.[0]).toMatch(/ exit +IABT_LOW from L1 /);
  });
});
