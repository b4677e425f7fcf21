import { z } from 'zod';
import { appendAudit } from '../../db/queries/audit.js';
import { createOrganization, listOrganizationsFor } from '../../db/queries/organizations.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { NameSchema } from './inputs.js';

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
});
