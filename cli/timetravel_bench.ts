// Reverse execution on a long run: a debugging session runs 10M instructions of an L1 with a
// benchmark L2 (a compute loop, then HVC round trips through L1: the slowest kind of run to replay),
// then answers reverse-step, goto, reverse-continue and reset. Prints the answer times (median of several),
// the automatic snapshots held and what one costs. `npm run bench:timetravel` (not part of `npm run bench`).

import { DebugSession } from "../debug/session.ts";
import { DEFAULT_SNAPSHOT_EVERY } from "../debug/timetravel.ts";
import { assembleGuest, withWords } from "../lab/fixtures/guest_images.ts";

const L1_IPA = 0x4010_0000n;
const L2_IPA = 0x4800_0000n;
const RUN = Number(process.env.TT_STEPS ?? 10_000_000);
const TRIES = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ms(t0: number): number {
  return performance.now() - t0;
}

async function measure(name: string, l1File: string, l2: string, patch: Record<string, number>): Promise<void> {
  const l1 = await assembleGuest(l1File, L1_IPA);
  const image = withWords(await assembleGuest(l2, L2_IPA), patch);
  const vm = { l1, l2: [{ image, ipa: L2_IPA }], config: { memory: 256n << 20n } };
  // The same run with no automatic snapshot but the first: what taking them costs on the way.
  const bare = await DebugSession.open({ vm, timeline: { every: Number.MAX_SAFE_INTEGER } });
  let t0 = performance.now();
  await bare.continue({ maxSteps: RUN });
  const plain = ms(t0);
  const s = await DebugSession.open({ vm });
  t0 = performance.now();
  const stop = await s.continue({ maxSteps: RUN });
  const forward = ms(t0);
  const end = stop.time;
  const stats = s.timeline!.stats();
  const step = (): number => {
    t0 = performance.now();
    s.reverseStep();
    return ms(t0);
  };
  const back: number[] = [];
  for (let i = 0; i < TRIES; i++) back.push(step());
  // The worst case: one step after a snapshot, so the replay is a whole interval long.
  const worst: number[] = [];
  for (let i = 0; i < TRIES; i++) {
    const at = Math.floor(end / DEFAULT_SNAPSHOT_EVERY - 1 - i) * DEFAULT_SNAPSHOT_EVERY;
    s.goto(at + DEFAULT_SNAPSHOT_EVERY - 1);
    t0 = performance.now();
    s.goto(at + DEFAULT_SNAPSHOT_EVERY - 2);
    worst.push(ms(t0));
  }
  const gotos: number[] = [];
  for (let i = 1; i <= TRIES; i++) {
    t0 = performance.now();
    s.goto(Math.floor((end * i) / (TRIES + 1)));
    gotos.push(ms(t0));
  }
  // Back over the whole run: the only earlier break is L2's first instruction.
  s.goto(end);
  s.addAddressBreak("l2_entry");
  t0 = performance.now();
  const first = s.reverseContinue();
  const whole = ms(t0);
  if (first.reason.kind !== "breakpoint") throw new Error(`reverse-continue stopped for ${first.reason.kind}`);
  t0 = performance.now();
  s.reset();
  const reset = ms(t0);
  console.log(
    `${name}: ran ${end.toLocaleString()} instructions in ${(forward / 1000).toFixed(2)} s (${((end / forward) * 1000 / 1e6).toFixed(1)} M/s) with ` +
      `${stats.count} automatic snapshots (every ${DEFAULT_SNAPSHOT_EVERY.toLocaleString()}) holding ${(stats.bytes / 2 ** 20).toFixed(1)} MiB ` +
      `(${(stats.bytes / stats.count / 1024).toFixed(0)} KiB each); ${(plain / 1000).toFixed(2)} s without them\n` +
      `  reverse-step at the end: median ${median(back).toFixed(1)} ms (min ${Math.min(...back).toFixed(1)}, max ${Math.max(...back).toFixed(1)})\n` +
      `  reverse-step a whole interval from its snapshot: median ${median(worst).toFixed(1)} ms (max ${Math.max(...worst).toFixed(1)})\n` +
      `  goto a random step: median ${median(gotos).toFixed(1)} ms (max ${Math.max(...gotos).toFixed(1)}); reset ${reset.toFixed(1)} ms\n` +
      `  reverse-continue from the end to the first instruction of L2 (step ${first.time.toLocaleString()}): ${(whole / 1000).toFixed(2)} s`,
  );
}

await measure("compute loop (guests/l1/hyp.S + bench/guests/loop_l2.S)", "guests/l1/hyp.S", "bench/guests/loop_l2.S", { loop_iterations: 100_000_000 });
await measure("HVC round trips (bench/guests/hvc_l1.S + hvc_l2.S)", "bench/guests/hvc_l1.S", "bench/guests/hvc_l2.S", { hvc_iterations: 10_000_000 });
