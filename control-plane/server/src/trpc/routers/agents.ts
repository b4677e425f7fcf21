import { ManagedConfigSchema, PoliciesSchema, SipUserSchema } from '@sipwall/shared';
import { z } from 'zod';
import { listAgents } from '../../db/queries/agents.js';
import { listConfigVersions } from '../../db/queries/config-versions.js';
import { requireAccess } from '../../domain/access.js';
import { createAgentWithToken, loadAgentFor, pushDesiredState } from '../../domain/agents.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { AgentIdSchema, NameSchema, plainTextOnly } from './inputs.js';

export const agentsRouter = router({
  list: authedProcedure.input(z.object({ organizationId: z.uuid() })).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'read',
    });
    return toWire(await listAgents(ctx.db, input));
  }),
  get: authedProcedure.input(z.object({ agentId: AgentIdSchema })).query(async ({ ctx, input }) => {
    const agent = await loadAgentFor(ctx.db, {
      operatorId: ctx.operator.id,
      agentId: input.agentId,
      access: 'read',
    });
    const versions = await listConfigVersions(ctx.db, { agentId: agent.id });
    return toWire({ ...agent, configVersions: versions });
  }),
  create: authedProcedure
    .input(z.object({ siteId: z.uuid(), name: NameSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await createAgentWithToken(ctx.db, ctx.clock, { operatorId: ctx.operator.id, ...input })),
    ),
  pushDesired: authedProcedure
    .input(
      plainTextOnly(
        z.object({
          agentId: AgentIdSchema,
          config: ManagedConfigSchema,
          users: z.array(SipUserSchema),
          policies: PoliciesSchema,
        }),
      ),
    )
    .mutation(({ ctx, input }) =>
      pushDesiredState(
        ctx.db,
        { clock: ctx.clock, publisher: ctx.publisher },
        {
          operatorId: ctx.operator.id,
          agentId: input.agentId,
          config: input.config,
          users: input.users,
          policies: input.policies,
        },
      ),
    ),
});
