import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { getSite } from '../../db/queries/sites.js';
import { recentCallRecords, recentSecurityEvents, statsSeries } from '../../db/queries/telemetry.js';
import { requireAccess } from '../../domain/access.js';
import { rankWorst, siteTotals, WORST_SITE_ORDERS } from '../../domain/worst-sites.js';
import type { StatsScope } from '../../domain/stats-rollup.js';
import { DomainError } from '../../errors.js';
import { authedProcedure, router } from '../init.js';
import { toWire } from '../wire.js';

/** The widest range one statistics query may span (per hour: 31 days = 744 points). */
const MAX_RANGE_MS = { hour: 31 * 86_400_000, day: 400 * 86_400_000 } as const;

const ScopeSchema = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('site'), siteId: z.uuid() }).strict(),
  z.object({ scope: z.literal('organization'), organizationId: z.uuid() }).strict(),
]);

const SeriesInput = z
  .object({
    target: ScopeSchema,
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    bucket: z.enum(['hour', 'day']),
  })
  .strict()
  .refine((i) => Date.parse(i.from) < Date.parse(i.to), { error: 'from must be before to', path: ['to'] })
  .refine((i) => Date.parse(i.to) - Date.parse(i.from) <= MAX_RANGE_MS[i.bucket], {
    error: 'range too long for this bucket (hour: 31 days, day: 400 days)',
    path: ['to'],
  });

const WorstSitesInput = z
  .object({
    organizationId: z.uuid(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    by: z.enum(WORST_SITE_ORDERS),
    limit: z.number().int().min(1).max(100).default(10),
  })
  .strict()
  .refine((i) => Date.parse(i.from) < Date.parse(i.to), { error: 'from must be before to', path: ['to'] })
  .refine((i) => Date.parse(i.to) - Date.parse(i.from) <= MAX_RANGE_MS.day, {
    error: 'range too long (400 days at most)',
    path: ['to'],
  });

const PageInput = {
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).max(1_000_000).default(0),
};

/** Resolves the scope to ids after checking the operator may read its organization (tenant check). */
async function readableScope(
  db: Database,
  operatorId: string,
  target: z.infer<typeof ScopeSchema>,
): Promise<{ scope: StatsScope; scopeId: string }> {
  if (target.scope === 'organization') {
    await requireAccess(db, { operatorId, organizationId: target.organizationId, access: 'read' });
    return { scope: 'organization', scopeId: target.organizationId };
  }
  const site = await getSite(db, { siteId: target.siteId });
  // A missing site and another tenant's site look the same.
  if (site === null) throw new DomainError('not-found', 'site not found');
  await requireAccess(db, { operatorId, organizationId: site.organizationId, access: 'read', what: 'site' });
  return { scope: 'site', scopeId: site.id };
}

/**
 * Fleet call statistics from the hourly roll-ups (calls, answered, ASR, ACD, peak concurrent,
 * failed authentications, one-way media calls, registrations), recent call records and security
 * events. Read access (any role) to the organization is required.
 */
export const statsRouter = router({
  series: authedProcedure.input(SeriesInput).query(async ({ ctx, input }) => {
    const scope = await readableScope(ctx.db, ctx.operator.id, input.target);
    const points = await statsSeries(ctx.db, {
      ...scope,
      from: new Date(input.from),
      to: new Date(input.to),
      bucket: input.bucket,
    });
    return toWire(points);
  }),
  recentCalls: authedProcedure
    .input(z.object({ siteId: z.uuid(), ...PageInput }).strict())
    .query(async ({ ctx, input }) => {
      const scope = await readableScope(ctx.db, ctx.operator.id, { scope: 'site', siteId: input.siteId });
      return toWire(
        await recentCallRecords(ctx.db, { siteId: scope.scopeId, limit: input.limit, offset: input.offset }),
      );
    }),
  recentSecurityEvents: authedProcedure
    .input(z.object({ target: ScopeSchema, ...PageInput }).strict())
    .query(async ({ ctx, input }) => {
      const scope = await readableScope(ctx.db, ctx.operator.id, input.target);
      return toWire(
        await recentSecurityEvents(ctx.db, { ...scope, limit: input.limit, offset: input.offset }),
      );
    }),
  /**
   * The organization's worst sites over a range: lowest ASR, most failed authentications or most
   * one-way calls (`by`), with each site's totals.
   */
  worstSites: authedProcedure.input(WorstSitesInput).query(async ({ ctx, input }) => {
    await requireAccess(ctx.db, {
      operatorId: ctx.operator.id,
      organizationId: input.organizationId,
      access: 'read',
    });
    const totals = await siteTotals(ctx.db, {
      organizationId: input.organizationId,
      from: new Date(input.from),
      to: new Date(input.to),
    });
    return rankWorst(totals, input.by, input.limit);
  }),
});
