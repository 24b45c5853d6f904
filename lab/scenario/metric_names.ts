// The metric names a scenario's `expect.metrics` may use: the typed counters and sample lists of
// hypervisor/metrics.ts, `exits.<EC>` and `tlbi.<operation>`, and the aggregates of a name. A name
// that is none of these is refused before the run, with the nearest names, instead of counting as
// a counter never bumped (0).

import { EC_NAMES } from "../../emulator/exception.ts";
import { hex } from "../../emulator/types.ts";
import { TLBI_TABLE, tlbiByName } from "../../emulator/tlbi.ts";
import { isMetricName, OTHER_COUNTERS, SAMPLE_AGGREGATES, SAMPLE_NAMES, SCALAR_COUNTERS } from "../../hypervisor/metrics.ts";
import { didYouMean } from "./suggest.ts";

const EC_NAME_SET: ReadonlySet<string> = new Set(Object.values(EC_NAMES));

/** The largest exception class (ESR_EL2.EC is 6 bits). */
const EC_MAX = 0x3f;

/**
 * An exception class written as a number, `0x16`: exits are counted under the class's name when it
 * has one (`exits.HVC64`), under its hex only when it has none.
 */
function ecNumber(key: string): number | null {
  return /^0x[0-9a-f]+$/i.test(key) ? Number.parseInt(key.slice(2), 16) : null;
}

/** `exits.<EC name>` and `tlbi.<operation>`: the keys those counters are kept under. */
function isGroupKey(group: string, key: string): boolean {
  if (group === "tlbi") return tlbiByName(key)?.name === key;
  if (EC_NAME_SET.has(key)) return true;
  const ec = ecNumber(key);
  return ec !== null && ec <= EC_MAX && key === hex(ec) && EC_NAMES[ec] === undefined;
}

/** Why `exits.<number>` is never counted: the class has a name (or is no class), or not the counter's spelling. */
function exitsNumberProblem(name: string): string | null {
  const m = /^exits\.(0x[0-9a-f]+)(\.[a-z]+)?$/i.exec(name);
  const ec = m ? ecNumber(m[1]!) : null;
  if (m === null || ec === null) return null;
  if (ec > EC_MAX) return `unknown metric "${name}": ${m[1]} is not an exception class (6 bits, 0x0-0x3f)`;
  const named = EC_NAMES[ec];
  if (named !== undefined) return `unknown metric "${name}": exits with EC ${hex(ec)} are counted as "exits.${named}${m[2] ?? ""}"`;
  return `unknown metric "${name}": write the exception class as "${hex(ec)}"`;
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
  const exits = exitsNumberProblem(name);
  if (exits !== null) return exits;
  const near = didYouMean(name, knownNames());
  if (near !== "") return `unknown metric "${name}"${near}`;
  return (
    `unknown metric "${name}" (counters: ${[...SCALAR_COUNTERS, ...OTHER_COUNTERS].join(", ")}, exits.<EC>, tlbi.<operation>; ` +
    `samples: ${SAMPLE_NAMES.join(", ")}, each also with ${SAMPLE_AGGREGATES.map((a) => `.${a}`).join(", ")})`
  );
}
