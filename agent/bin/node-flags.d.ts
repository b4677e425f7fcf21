/** The node flags the agent runs with (the shebang line of `sipwall-agent.js`). */
export function agentNodeFlags(): string[];
