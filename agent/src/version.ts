/** The agent's version, reported to the control plane and printed by `--version`. */
export const AGENT_VERSION = '0.1.0';
