import { z } from 'zod';
import { appendAudit } from '../../db/queries/audit.js';
import { createSite, listSites } from '../../db/queries/sites.js';
import { requireAccess } from '../../domain/access.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { NameSchema } from './inputs.js';

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
    .mutation(async ({ ctx, input }) => {
      await requireAccess(ctx.db, {
        operatorId: ctx.operator.id,
        organizationId: input.organizationId,
        access: 'write',
      });
      const site = await createSite(ctx.db, input);
      await appendAudit(ctx.db, {
        organizationId: input.organizationId,
        operatorId: ctx.operator.id,
        action: 'site.create',
        target: site.id,
        detail: { name: site.name },
      });
      return toWire(site);
    }),
});
