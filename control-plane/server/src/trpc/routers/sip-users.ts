import { DigestAlgorithmsSchema, DomainSchema, SipUsernameSchema } from '@sipwall/shared';
import { z } from 'zod';
import { listSipUsers, toSipUserView } from '../../db/queries/fleet-config.js';
import { createSipUserFor, deleteSipUserFor, updateSipUserFor } from '../../domain/sip-users.js';
import { loadSiteFor } from '../../domain/sites.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { PasswordChoiceSchema, text } from './inputs.js';

const DisplayNameSchema = text().trim().max(200);

/** SIP users of a site: the operator's job (README "Roles"). Responses never carry HA1s. */
export const sipUsersRouter = router({
  list: authedProcedure.input(z.object({ siteId: z.uuid() })).query(async ({ ctx, input }) => {
    await loadSiteFor(ctx.db, { operatorId: ctx.operator.id, siteId: input.siteId, access: 'read' });
    return toWire((await listSipUsers(ctx.db, input)).map(toSipUserView));
  }),
  /** Creates a user; with `password: { generate: true }` the response carries the password, once. */
  create: authedProcedure
    .input(
      z.object({
        siteId: z.uuid(),
        username: SipUsernameSchema,
        domain: DomainSchema,
        displayName: DisplayNameSchema.default(''),
        enabled: z.boolean().default(true),
        algorithms: DigestAlgorithmsSchema.nullable().default(null),
        password: PasswordChoiceSchema,
      }),
    )
    .mutation(async ({ ctx, input }) =>
      toWire(await createSipUserFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
    ),
  /** Display name, enable/disable, offered algorithms (null = the site's default). */
  update: authedProcedure
    .input(
      z.object({
        userId: z.uuid(),
        displayName: DisplayNameSchema.optional(),
        enabled: z.boolean().optional(),
        algorithms: DigestAlgorithmsSchema.nullable().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) =>
      toWire(await updateSipUserFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
    ),
  resetPassword: authedProcedure
    .input(z.object({ userId: z.uuid(), password: PasswordChoiceSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await updateSipUserFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
    ),
  delete: authedProcedure
    .input(z.object({ userId: z.uuid() }))
    .mutation(({ ctx, input }) => deleteSipUserFor(ctx.db, ctx, { operatorId: ctx.operator.id, ...input })),
});
