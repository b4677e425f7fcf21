import { z } from 'zod';
import { siteHealthFor } from '../../domain/overview.js';
import { authedProcedure, router } from '../init.js';

/** The organization overview: every site with its health at a glance (any member may read). */
export const overviewRouter = router({
  sites: authedProcedure.input(z.object({ organizationId: z.uuid() }).strict()).query(({ ctx, input }) =>
    siteHealthFor(ctx.db, ctx.live, ctx.clock, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
    }),
  ),
});
