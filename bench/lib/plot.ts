// Vega-lite specs rendered to SVG headless: vega's "none" renderer builds the scenegraph and
// serialises it to SVG without a canvas or a browser.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PlotSpec } from "./types.ts";

export class PlotError extends Error {
  constructor(
    readonly plot: string,
    cause: unknown,
  ) {
    super(`plot "${plot}" could not be rendered: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "PlotError";
  }
}

export async function renderSvg(plot: PlotSpec): Promise<string> {
  let view: vega.View | null = null;
  try {
    const spec = { background: "white", title: plot.title, ...plot.spec } as TopLevelSpec;
    const compiled = compile(spec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Warn });
    const svg = await view.toSVG();
    if (!svg.startsWith("<svg")) throw new Error("vega produced no SVG");
    return svg;
  } catch (e) {
    throw new PlotError(plot.name, e);
  } finally {
    view?.finalize();
  }
}

/** One point of a line plot: x, y and the series (a strategy, an order) it belongs to. */
export interface LinePoint {
  x: number;
  y: number;
  series: string;
}

/**
 * A line per series over a log2 x axis (MMU counts, page counts), y linear or log. Series drawn
 * with the same values would overlap: dashes keep each visible.
 */
export function linePlot(name: string, title: string, points: LinePoint[], axes: { x: string; y: string; series: string; logY?: boolean }): PlotSpec {
  return {
    name,
    title,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: 480,
      height: 300,
      data: { values: points },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "x", type: "quantitative", scale: { type: "log", base: 2 }, title: axes.x },
        y: { field: "y", type: "quantitative", ...(axes.logY ? { scale: { type: "log" } } : {}), title: axes.y },
        color: { field: "series", type: "nominal", title: axes.series },
        strokeDash: { field: "series", type: "nominal", title: axes.series },
      },
    },
  };
}
