#!/usr/bin/env node
// Launcher: the CLI is TypeScript, run through tsx's loader so `npx nvlab` needs no build step.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
