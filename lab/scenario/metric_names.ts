// The metric names a scenario's `expect.metrics` may use: the typed counters and sample lists of
// hypervisor/metrics.ts, `exits.<EC>` and `tlbi.<operation>`, and the aggregates of a name. A name
// that is none of these is refused before the run, with the nearest names, instead of counting as
// a counter never bumped (0).

import { EC_NAMES } from "../../emulator/exception.ts";
import { TLBI_TABLE, tlbiByName } from "../../emulator/tlbi.ts";
import { isMetricName, OTHER_COUNTERS, SAMPLE_AGGREGATES, SAMPLE_NAMES, SCALAR_COUNTERS } from "../../hypervisor/metrics.ts";
import { didYouMean } from "./suggest.ts";

const EC_NAME_SET: ReadonlySet<string> = new Set(Object.values(EC_NAMES));

/** `exits.<EC name>` and `tlbi.<operation>`: the keys those counters are kept under. */
function isGroupKey(group: string, key: string): boolean {
  if (group === "exits") return EC_NAME_SET.has(key) || /^0x[0-9a-f]+$/.test(key);
  return tlbiByName(key)?.name === key;
}

let known: string[] | null = null;

/** Every spelled-out metric name, for suggestions (built once, on the first misspelling). */
function knownNames(): string[] {
  known ??= [
    ...SCALAR_COUNTERS,
    ...OTHER_COUNTERS,
    ...SAMPLE_NAMES,
    ...SAMPLE_NAMES.flatMap((s) => SAMPLE_AGGREGATES.map((a) => `${s}.${a}`)),
    ...Object.values(EC_NAMES).map((n) => `exits.${n}`),
    ...TLBI_TABLE.map((t) => `tlbi.${t.name}`),
  ];
  return known;
}

/** Why `name` is not a metric a scenario can expect, or null when it is one. */
export function metricNameProblem(name: string): string | null {
  if (isMetricName(name, isGroupKey)) return null;
  const near = didYouMean(name, knownNames());
  if (near !== "") return `unknown metric "${name}"${near}`;
  return (
    `unknown metric "${name}" (counters: ${[...SCALAR_COUNTERS, ...OTHER_COUNTERS].join(", ")}, exits.<EC>, tlbi.<operation>; ` +
    `samples: ${SAMPLE_NAMES.join(", ")}, each also with ${SAMPLE_AGGREGATES.map((a) => `.${a}`).join(", ")})`
  );
}
