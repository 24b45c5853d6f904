// What the scenario parser reports for a text it refuses (one line each); a test fails if it accepts it.

import { expect } from "vitest";
import { parseScenario, ScenarioError } from "../../../lab/scenario/schema.ts";

export function problems(text: string): string[] {
  try {
    parseScenario(text, "s.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).problems;
  }
  throw new Error("the scenario was accepted");
}
