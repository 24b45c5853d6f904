// Test helper: check a Chrome trace-event JSON object the way a viewer would need it: required
// fields per phase, integer timestamps, time order per track, slices properly nested and all ended
// by the trace's last step, names for the process and every thread. Returns the problems found.

import type { ChromeTrace, TraceEvent } from "../../debug/trace_event.ts";

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Every problem in `value` (empty when it is a well-formed nvlab trace). */
export function traceProblems(value: unknown): string[] {
  const problems: string[] = [];
  const bad = (i: number, what: string): void => {
    problems.push(`traceEvents[${i}]: ${what}`);
  };
  if (typeof value !== "object" || value === null) return ["not a JSON object"];
  const t = value as Partial<ChromeTrace>;
  if (!Array.isArray(t.traceEvents)) return ["no traceEvents array"];
  const other = t.otherData;
  if (typeof other !== "object" || other === null) problems.push("no otherData");
  else if (typeof other.timeUnit !== "string" || !isInt(other.steps)) problems.push("otherData lacks timeUnit or steps");
  const end = isInt(other?.steps) ? other.steps : Infinity;

  const lastTs = new Map<string, number>();
  const open = new Map<string, { end: number; i: number }[]>();
  const named = new Set<string>();
  const used = new Set<string>();
  t.traceEvents.forEach((e: TraceEvent, i) => {
    if (typeof e !== "object" || e === null) return bad(i, "not an object");
    if (typeof e.name !== "string" || e.name === "") bad(i, "no name");
    if (!isInt(e.pid)) bad(i, "pid is not an integer");
    if (typeof e.args !== "object" || e.args === null) bad(i, "no args object");
    if (e.ph === "M") {
      if (!isInt(e.tid)) bad(i, "metadata without tid");
      if ((e.name === "process_name" || e.name === "thread_name") && typeof e.args?.name !== "string") bad(i, `${e.name} without args.name`);
      if (e.name === "process_name") named.add(`${e.pid}`);
      if (e.name === "thread_name") named.add(`${e.pid}/${e.tid}`);
      return;
    }
    if (!isInt(e.ts) || e.ts < 0) return bad(i, `ts ${String(e.ts)} is not a non-negative integer`);
    if (e.ts > end) bad(i, `ts ${e.ts} after the last step ${end}`);
    let track: string;
    if (e.ph === "C") {
      track = `${e.pid}/C/${e.name}`;
      if (Object.values(e.args ?? {}).some((v) => typeof v !== "number")) bad(i, "counter with a non-numeric value");
    } else if (e.ph === "X" || e.ph === "i") {
      if (!isInt(e.tid)) return bad(i, "no tid");
      if (typeof e.cat !== "string") bad(i, "no cat");
      track = `${e.pid}/${e.tid}`;
      used.add(track);
      if (e.ph === "i" && !["t", "p", "g"].includes(e.s)) bad(i, `instant scope ${String(e.s)}`);
      if (e.ph === "X") {
        if (!isInt(e.dur) || e.dur <= 0) bad(i, `dur ${String(e.dur)} is not a positive integer`);
        else if (e.ts + e.dur > end) bad(i, `slice ends at ${e.ts + e.dur}, after the last step ${end}`);
        const stack = open.get(track) ?? [];
        while (stack.length > 0 && stack[stack.length - 1]!.end <= e.ts) stack.pop();
        const parent = stack[stack.length - 1];
        if (parent && e.ts + e.dur > parent.end) bad(i, `slice overlaps slice traceEvents[${parent.i}] without nesting in it`);
        stack.push({ end: e.ts + e.dur, i });
        open.set(track, stack);
      }
    } else return bad(i, `unknown phase ${String((e as { ph: unknown }).ph)}`);
    const last = lastTs.get(track) ?? -1;
    if (e.ts < last) bad(i, `ts ${e.ts} before the previous event of its track (${last})`);
    lastTs.set(track, e.ts);
  });
  for (const track of used) {
    if (!named.has(track)) problems.push(`thread ${track} has no thread_name`);
    if (!named.has(track.split("/")[0]!)) problems.push(`process of ${track} has no process_name`);
  }
  return problems;
}
