#!/usr/bin/env node
// Launcher: the CLI is TypeScript, run through tsx's loader so `npx nvlab` needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
await main(process.argv);
