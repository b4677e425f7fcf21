import { z } from 'zod';
import { listOpenInvitations } from '../../db/queries/members.js';
import { ROLES } from '../../db/schema/index.js';
import { requireAccess } from '../../domain/access.js';
import {
  acceptInvitation,
  inviteFor,
  listMembersFor,
  removeMemberFor,
  revokeInvitationFor,
  setMemberRoleFor,
} from '../../domain/members.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';
import { EmailSchema, text } from './inputs.js';

const RoleSchema = z.enum(ROLES);

/** Members of an organization and their roles (README "Roles"). */
export const membersRouter = router({
  list: authedProcedure
    .input(z.object({ organizationId: z.uuid() }))
    .query(async ({ ctx, input }) =>
      toWire(await listMembersFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
    ),
  setRole: authedProcedure
    .input(z.object({ organizationId: z.uuid(), memberId: z.uuid(), role: RoleSchema }))
    .mutation(({ ctx, input }) => setMemberRoleFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
  remove: authedProcedure
    .input(z.object({ organizationId: z.uuid(), memberId: z.uuid() }))
    .mutation(({ ctx, input }) => removeMemberFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
});

/** Invitations: an admin invites an email with a role; the invitee accepts the one-time token. */
export const invitationsRouter = router({
  create: authedProcedure
    .input(z.object({ organizationId: z.uuid(), email: EmailSchema, role: RoleSchema }))
    .mutation(async ({ ctx, input }) =>
      toWire(await inviteFor(ctx.db, ctx.clock, { operatorId: ctx.operator.id, ...input })),
    ),
  list: authedProcedure.input(z.object({ organizationId: z.uuid() })).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'admin',
    });
    return toWire(await listOpenInvitations(ctx.db, { ...input, now: ctx.clock() }));
  }),
  revoke: authedProcedure
    .input(z.object({ invitationId: z.uuid() }))
    .mutation(({ ctx, input }) => revokeInvitationFor(ctx.db, { operatorId: ctx.operator.id, ...input })),
  /** For the signed-in invitee (whose email must be the invited one). */
  accept: authedProcedure.input(z.object({ token: text().min(1).max(200) })).mutation(({ ctx, input }) =>
    acceptInvitation(ctx.db, ctx.clock, {
      operatorId: ctx.operator.id,
      operatorEmail: ctx.operator.email,
      token: input.token,
    }),
  ),
});
