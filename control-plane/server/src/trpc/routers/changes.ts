import { ManagedConfigSchema, PoliciesPatchSchema } from '@sipwall/shared';
import { z } from 'zod';
import { previewChangeFor } from '../../domain/preview.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { plainTextOnly } from './inputs.js';

/** Read-only helpers of the dashboard's change forms (any member may look; changing needs more). */
export const changesRouter = router({
  /**
   * What `rollouts.start` with the same patch would change on each selected site's agents (an
   * empty patch: what a plain push would send). Nothing is written.
   */
  preview: authedProcedure
    .input(
      plainTextOnly(
        z.object({
          organizationId: z.uuid(),
          siteIds: z.array(z.uuid()).max(10_000),
          config: ManagedConfigSchema.optional(),
          policies: PoliciesPatchSchema.optional(),
        }),
      ),
    )
    .query(async ({ ctx, input }) =>
      toWire(
        await previewChangeFor(ctx.db, {
          operatorId: ctx.operator.id,
          organizationId: input.organizationId,
          siteIds: input.siteIds,
          change: { config: input.config, policies: input.policies },
        }),
      ),
    ),
});
