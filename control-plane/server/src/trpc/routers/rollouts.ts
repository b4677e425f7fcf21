import { ManagedConfigSchema, PoliciesPatchSchema } from '@sipwall/shared';
import { z } from 'zod';
import { getRollout, listRollouts } from '../../db/queries/rollouts.js';
import { requireAccess } from '../../domain/access.js';
import { advanceRollout, startRolloutFor } from '../../domain/rollouts.js';
import { DomainError } from '../../errors.js';
import type { Context } from '../context.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { plainTextOnly } from './inputs.js';

async function loadRolloutFor(
  ctx: Context & { operator: { id: string } },
  rolloutId: string,
  access: 'read' | 'admin',
) {
  const rollout = await getRollout(ctx.db, { rolloutId });
  if (!rollout) throw new DomainError('not-found', 'rollout not found');
  await requireAccess(ctx.db, {
    operatorId: ctx.operator.id,
    organizationId: rollout.organizationId,
    access,
    what: 'rollout',
  });
  return rollout;
}

/** Bulk changes over many sites, optionally staged through canary sites (admins and owners). */
export const rolloutsRouter = router({
  /** Overlays `config`/`policies` on each selected site's overrides; canaries first when given. */
  start: authedProcedure
    .input(
      plainTextOnly(
        z.object({
          organizationId: z.uuid(),
          canarySiteIds: z.array(z.uuid()).max(1000).default([]),
          siteIds: z.array(z.uuid()).max(10_000),
          config: ManagedConfigSchema.optional(),
          policies: PoliciesPatchSchema.optional(),
        }),
      ),
    )
    .mutation(async ({ ctx, input }) =>
      toWire(
        await startRolloutFor(ctx.db, ctx, {
          operatorId: ctx.operator.id,
          organizationId: input.organizationId,
          canarySiteIds: input.canarySiteIds,
          siteIds: input.siteIds,
          change: { config: input.config, policies: input.policies },
        }),
      ),
    ),
  get: authedProcedure
    .input(z.object({ rolloutId: z.uuid() }))
    .query(async ({ ctx, input }) => toWire(await loadRolloutFor(ctx, input.rolloutId, 'read'))),
  list: authedProcedure.input(z.object({ organizationId: z.uuid() })).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'read',
    });
    return toWire(await listRollouts(ctx.db, { ...input, limit: 100 }));
  }),
  /** Checks the canaries now (the server also does on every `reported` and periodically). */
  advance: authedProcedure.input(z.object({ rolloutId: z.uuid() })).mutation(async ({ ctx, input }) => {
    await loadRolloutFor(ctx, input.rolloutId, 'admin');
    return toWire(await advanceRollout(ctx.db, ctx, input.rolloutId));
  }),
});
