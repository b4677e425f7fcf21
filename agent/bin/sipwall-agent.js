#!/usr/bin/env -S node --max-semi-space-size=64 --expose-gc
// The flags on the line above are the agent's V8 settings; they must be given at process start
// (V8 sizes its heap before any code runs). A 64 MB young-generation semi-space (default 16 MB)
// lets the short-lived objects of a REGISTER storm die before they are scavenged and promoted:
// bench/register measured ~15 % less CPU per registration at 4,000 reg/s. `--expose-gc` lets the
// agent return a load peak's heap once it is idle again (src/util/memory-reclaimer.ts). Launchers that run
// this file through `node` themselves (quickstart, bench) read the flags from this line with
// `agentNodeFlags()` in agent/bin/node-flags.js.
import '../dist/cli.js';
