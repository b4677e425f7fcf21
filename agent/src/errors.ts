/**
 * Base of every typed error the agent raises on purpose. `code` is stable (`AGENT_ERR_*`), so
 * callers and tests branch on it rather than on message text (undici style).
 */
export class AgentError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Narrows an unknown throwable to an {@link AgentError}. */
export function isAgentError(e: unknown): e is AgentError {
  return e instanceof AgentError;
}
