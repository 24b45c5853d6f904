// The counters chart as a vega-lite spec, and the rows it draws. The rows come through a named
// data set ("points") so new samples replace the data of the chart already on the page instead
// of compiling a new one; the spec changes only when the scale does.

import type { TopLevelSpec } from "vega-lite";
import type { Sample } from "./metrics_history.ts";
import { seriesTitle } from "./metrics_keys.ts";

export const DATA_NAME = "points";

/** One point of one counter's line. */
export interface ChartRow {
  step: number;
  metric: string;
  value: number;
}

/**
 * Evenly spaced samples, at most `max`, always with the first and the last (the chart has about a
 * pixel per point; more only costs drawing time).
 */
export function pickSamples(samples: readonly Sample[], max: number): readonly Sample[] {
  if (samples.length <= max) return samples;
  if (max < 2) return samples.slice(-1);
  const out: Sample[] = [];
  const stride = (samples.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(samples[Math.round(i * stride)]!);
  return out;
}

/** The rows of the chosen counters, at most `maxPerSeries` points each; a counter not yet counted is 0. */
export function chartRows(samples: readonly Sample[], names: readonly string[], maxPerSeries: number): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const s of pickSamples(samples, maxPerSeries)) {
    for (const name of names) rows.push({ step: s.step, metric: seriesTitle(name), value: s.values[name] ?? 0 });
  }
  return rows;
}

export interface ChartOptions {
  /** A log-like y scale (symlog: zero stays on the axis), for counters of very different sizes. */
  log: boolean;
  /** The whole chart's width in pixels, axes and legend included (autosize fit-x). */
  width: number;
  height: number;
}

/** The spec, its data set holding `values` to begin with (one first run draws them). */
export function chartSpec(o: ChartOptions, values: readonly ChartRow[] = []): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: o.width,
    height: o.height,
    autosize: { type: "fit-x", contains: "padding" },
    data: { name: DATA_NAME, values: [...values] },
    // Counters change at a step and hold: a step line says that, a slope would invent rates.
    mark: { type: "line", interpolate: "step-after", clip: true },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step (instructions)", axis: { format: "~s" } },
      y: { field: "value", type: "quantitative", title: "count", ...(o.log ? { scale: { type: "symlog" } } : {}) },
      color: { field: "metric", type: "nominal", title: "counter", legend: { orient: "bottom", columns: 3 } },
    },
  };
}
