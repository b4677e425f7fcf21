import { ManagedConfigSchema, PoliciesPatchSchema } from '@sipwall/shared';
import { z } from 'zod';
import { appendAudit } from '../../db/queries/audit.js';
import { createOrganization, listOrganizationsFor } from '../../db/queries/organizations.js';
import { getOrganizationConfigFor, setOrganizationConfigFor } from '../../domain/fleet-config.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { NameSchema, plainTextOnly } from './inputs.js';

export const organizationsRouter = router({
  list: authedProcedure.query(async ({ ctx }) =>
    toWire(await listOrganizationsFor(ctx.db, { operatorId: ctx.operator.id })),
  ),
  create: authedProcedure.input(z.object({ name: NameSchema })).mutation(async ({ ctx, input }) => {
    const org = await createOrganization(ctx.db, { name: input.name, ownerId: ctx.operator.id });
    await appendAudit(ctx.db, {
      organizationId: org.id,
      operatorId: ctx.operator.id,
      action: 'organization.create',
      target: org.id,
      detail: { name: org.name },
    });
    return toWire(org);
  }),
  /** The organization-wide managed config and policies (sites inherit, and may override). */
  getConfig: authedProcedure
    .input(z.object({ organizationId: z.uuid() }))
    .query(({ ctx, input }) => getOrganizationConfigFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
  /** Replaces the organization's config and/or policies; recompiles and pushes every affected agent. */
  setConfig: authedProcedure
    .input(
      plainTextOnly(
        z.object({
          organizationId: z.uuid(),
          config: ManagedConfigSchema.optional(),
          policies: PoliciesPatchSchema.optional(),
        }),
      ),
    )
    .mutation(({ ctx, input }) =>
      setOrganizationConfigFor(ctx.db, ctx, {
        operatorId: ctx.operator.id,
        organizationId: input.organizationId,
        change: { config: input.config, policies: input.policies },
      }),
    ),
});
