import { ManagedConfigSchema, PoliciesPatchSchema } from '@sipwall/shared';
import { z } from 'zod';
import { listSites } from '../../db/queries/sites.js';
import { requireAccess } from '../../domain/access.js';
import { getSiteConfigFor, setSiteConfigFor } from '../../domain/fleet-config.js';
import { createSiteFor, deleteSiteFor, renameSiteFor } from '../../domain/sites.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { NameSchema, plainTextOnly } from './inputs.js';

export const sitesRouter = router({
  list: authedProcedure.input(z.object({ organizationId: z.uuid() })).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'read',
    });
    return toWire(await listSites(ctx.db, input));
  }),
  create: authedProcedure
    .input(z.object({ organizationId: z.uuid(), name: NameSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await createSiteFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
    ),
  rename: authedProcedure
    .input(z.object({ siteId: z.uuid(), name: NameSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await renameSiteFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
    ),
  /** Deletes the site with its agents (revoked), SIP users and overrides. */
  delete: authedProcedure
    .input(z.object({ siteId: z.uuid() }))
    .mutation(({ ctx, input }) => deleteSiteFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
  /** The organization's layer and the site's own overrides. */
  getConfig: authedProcedure
    .input(z.object({ siteId: z.uuid() }))
    .query(({ ctx, input }) => getSiteConfigFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
  /** Replaces the site's config and/or policies overrides; pushes its agents. */
  setConfig: authedProcedure
    .input(
      plainTextOnly(
        z.object({
          siteId: z.uuid(),
          config: ManagedConfigSchema.optional(),
          policies: PoliciesPatchSchema.optional(),
        }),
      ),
    )
    .mutation(({ ctx, input }) =>
      setSiteConfigFor(ctx.db, ctx, {
        operatorId: ctx.operator.id,
        siteId: input.siteId,
        change: { config: input.config, policies: input.policies },
      }),
    ),
});
