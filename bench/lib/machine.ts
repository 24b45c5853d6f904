// The machine a run happened on: wall-clock numbers mean little without it.

import { cpus, loadavg } from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started; above `cores`, timings are pessimistic. */
  loadAverage1m: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, Node ${m.node} (${m.platform}), load average ${m.loadAverage1m}`;
}

/** A warning when other work on the machine is likely to have slowed the run, else null. */
export function busyWarning(m: Machine): string | null {
  return m.loadAverage1m > m.cores ? "the machine is busy (load average above the core count): timings are lower than on an idle machine" : null;
}
