import { z } from 'zod';
import { listAudit } from '../../db/queries/audit.js';
import { requireAccess } from '../../domain/access.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';

/** The organization's audit log: who changed what, when, with before/after. Admins and owners. */
export const auditRouter = router({
  list: authedProcedure
    .input(
      z.object({
        organizationId: z.uuid(),
        limit: z.number().int().min(1).max(500).default(100),
        beforeId: z.number().int().min(1).optional(),
        action: z
          .string()
          .max(100)
          .regex(/^[a-zA-Z.]+$/, 'must be an action name like site.rename, or a prefix like site.')
          .optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      await requireAccess(ctx.db, {
        operatorId: ctx.operator.id,
        organizationId: input.organizationId,
        access: 'admin',
      });
      return toWire(await listAudit(ctx.db, input));
    }),
});
