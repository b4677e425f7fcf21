import { RpcLadderParamsSchema, RpcPageParamsSchema } from '@sipwall/shared';
import { z } from 'zod';
import { callLadder, queryAgent } from '../../domain/live.js';
import { authedProcedure, router } from '../init.js';
import { AgentIdSchema } from './inputs.js';

/** One page of an agent's live view; `limit`/`offset` as the agent accepts them (`RpcPageParamsSchema`). */
const LiveInput = z.object({ agentId: AgentIdSchema }).extend(RpcPageParamsSchema.shape).strict();
/** One call of an agent, by its Call-ID on either leg. */
const LadderInput = z.object({ agentId: AgentIdSchema }).extend(RpcLadderParamsSchema.shape).strict();

/**
 * Live views read from the agent itself over MQTT (not from the database): they fail fast with
 * PRECONDITION_FAILED (`agent-offline`) when the agent is offline and with GATEWAY_TIMEOUT
 * (`agent-timeout`) when it does not answer in time.
 */
export const liveRouter = router({
  registrations: authedProcedure.input(LiveInput).query(({ ctx, input }) =>
    queryAgent(ctx.db, ctx.live, {
      operatorId: ctx.operator.id,
      agentId: input.agentId,
      method: 'registrations',
      page: { limit: input.limit, offset: input.offset },
    }),
  ),
  calls: authedProcedure.input(LiveInput).query(({ ctx, input }) =>
    queryAgent(ctx.db, ctx.live, {
      operatorId: ctx.operator.id,
      agentId: input.agentId,
      method: 'calls',
      page: { limit: input.limit, offset: input.offset },
    }),
  ),
  /** The call's SIP messages on both legs (the agent's per-call trace), secrets redacted. */
  ladder: authedProcedure.input(LadderInput).query(({ ctx, input }) =>
    callLadder(ctx.db, ctx.live, {
      operatorId: ctx.operator.id,
      agentId: input.agentId,
      callId: input.callId,
    }),
  ),
});
