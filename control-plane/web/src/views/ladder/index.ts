/** The call ladder (insight engineer): a call's SIP messages on both legs, from the agent's trace. */
export { CallLadder } from './CallLadder.js';
