import { readFileSync } from 'node:fs';

const SHEBANG = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)\s*$/;

/**
 * The node flags on a `#!/usr/bin/env -S node <flags>` line.
 * @param {string} line
 * @returns {string[]}
 * @throws {Error} naming the line when it is not such a shebang
 */
export function parseShebangFlags(line) {
  const m = SHEBANG.exec(line);
  if (m === null) throw new Error(`sipwall-agent.js: unexpected shebang ${JSON.stringify(line)}`);
  return (m[1] ?? '').split(' ').filter((f) => f !== '');
}

/**
 * The node flags the agent runs with: the ones on the shebang line of `sipwall-agent.js`, so
 * launchers that start it as `node <flags> sipwall-agent.js` (the quick start, the benchmarks)
 * run it exactly as a direct `sipwall-agent` (systemd) does.
 * @returns {string[]}
 */
export function agentNodeFlags() {
  const text = readFileSync(new URL('./sipwall-agent.js', import.meta.url), 'latin1');
  return parseShebangFlags(text.split('\n', 1)[0] ?? '');
}
