/** The node flags on a `#!/usr/bin/env -S node <flags>` line; throws naming the line otherwise. */
export function parseShebangFlags(line: string): string[];
/** The node flags the agent runs with (the shebang line of `sipwall-agent.js`). */
export function agentNodeFlags(): string[];
