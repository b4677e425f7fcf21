#!/usr/bin/env -S node --max-semi-space-size=64 --min-semi-space-size=8 --expose-gc
// The flags on the line above are the agent's V8 settings; they must be given at process start
// (V8 sizes its heap before any code runs). A 64 MB young-generation semi-space (default 16 MB)
// lets the short-lived objects of a REGISTER storm die before they are scavenged and promoted:
// bench/register measured ~15 % less CPU per registration at 4,000 reg/s. V8 grows the semi-space
// only under load and starts at 1 MB: an 8 MB floor keeps a lightly loaded agent from scavenging
// every ~70 pinhole open+close pairs (a scavenge of 0.6-4 ms landed in 1 % of them, the whole
// p99 of bench/media's open+close), at no idle RSS measurable here. `--expose-gc` lets the
// agent return a load peak's heap once it is idle again (src/util/memory-reclaimer.ts). Launchers that run
// this file through `node` themselves (quickstart, bench) read the flags from this line with
// `agentNodeFlags()` in agent/bin/node-flags.js.
import '../dist/cli.js';
