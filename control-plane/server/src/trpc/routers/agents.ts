import { DesiredStateSchema } from '@sipwall/shared';
import { z } from 'zod';
import { listAgents } from '../../db/queries/agents.js';
import { listConfigVersions } from '../../db/queries/config-versions.js';
import { requireAccess } from '../../domain/access.js';
import {
  createAgentWithToken,
  deleteAgentFor,
  loadAgentFor,
  reissueEnrollmentFor,
  renameAgentFor,
  revokeAgentFor,
} from '../../domain/agents.js';
import { redactState } from '../../domain/compile.js';
import { withConfigState } from '../../domain/config-state.js';
import { diffVersionsFor, pushAgentFor, rollbackFor } from '../../domain/fleet-config.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { AgentIdSchema, NameSchema } from './inputs.js';

const VersionSchema = z.number().int().min(1);

export const agentsRouter = router({
  list: authedProcedure.input(z.object({ organizationId: z.uuid() })).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'read',
    });
    return toWire((await listAgents(ctx.db, input)).map(withConfigState));
  }),
  /** The agent with its config versions, newest first (HA1s hidden). */
  get: authedProcedure.input(z.object({ agentId: AgentIdSchema })).query(async ({ ctx, input }) => {
    const agent = await loadAgentFor(ctx.db, {
      operatorId: ctx.operator.id,
      agentId: input.agentId,
      access: 'read',
    });
    const versions = (await listConfigVersions(ctx.db, { agentId: agent.id })).map((v) => ({
      ...v,
      payload: redactState(DesiredStateSchema.parse(v.payload)),
    }));
    return toWire({ ...withConfigState(agent), configVersions: versions });
  }),
  create: authedProcedure
    .input(z.object({ siteId: z.uuid(), name: NameSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await createAgentWithToken(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
    ),
  rename: authedProcedure
    .input(z.object({ agentId: AgentIdSchema, name: NameSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await renameAgentFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
    ),
  /** Deletes the agent; its MQTT credentials stop working at once. */
  delete: authedProcedure
    .input(z.object({ agentId: AgentIdSchema }))
    .mutation(({ ctx, input }) => deleteAgentFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
  /** Voids the agent's MQTT credentials now (it must enroll again with a re-issued token). */
  revoke: authedProcedure
    .input(z.object({ agentId: AgentIdSchema }))
    .mutation(({ ctx, input }) => revokeAgentFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
  /** New one-time enrollment token; the old token and the current credentials stop working. */
  reissueEnrollment: authedProcedure
    .input(z.object({ agentId: AgentIdSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await reissueEnrollmentFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
    ),
  /** Recompiles the agent's site and publishes a new version if the content changed. */
  push: authedProcedure
    .input(z.object({ agentId: AgentIdSchema }))
    .mutation(({ ctx, input }) => pushAgentFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
  diff: authedProcedure
    .input(z.object({ agentId: AgentIdSchema, from: VersionSchema, to: VersionSchema }))
    .query(({ ctx, input }) => diffVersionsFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
  /** Publishes a new version whose content is `version`'s. */
  rollback: authedProcedure
    .input(z.object({ agentId: AgentIdSchema, version: VersionSchema }))
    .mutation(({ ctx, input }) => rollbackFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
});
