import { readFileSync } from 'node:fs';

/**
 * The node flags the agent runs with: the ones on the shebang line of `sipwall-agent.js`, so
 * launchers that start it as `node <flags> sipwall-agent.js` (the quick start, the benchmarks)
 * run it exactly as a direct `sipwall-agent` (systemd) does.
 * @returns {string[]}
 */
export function agentNodeFlags() {
  const first = readFileSync(new URL('./sipwall-agent.js', import.meta.url), 'latin1').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)\s*$/.exec(first ?? '');
  if (m === null) throw new Error(`sipwall-agent.js: unexpected shebang ${JSON.stringify(first)}`);
  return m[1].split(' ').filter((f) => f !== '');
}
