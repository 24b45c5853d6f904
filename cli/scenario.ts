// How `nvlab run` words a run and a scenario's result (shared with the lab page: lab/scenario/report.ts).
export * from "../lab/scenario/report.ts";
