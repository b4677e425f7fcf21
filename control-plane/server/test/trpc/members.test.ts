import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVITATION_TTL_MS } from '../../src/domain/members.js';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../helpers/control-plane.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof TRPCError) return e.code;
    throw e;
  }
}

describe(`members and invitations (${process.env['DATABASE_URL'] ? 'postgres' : 'pglite'})`, () => {
  let cp: TestControlPlane;
  let now = Date.now();
  let owner: SignedIn;
  let orgId: string;

  beforeAll(async () => {
    cp = await startTestControlPlane({ clock: () => new Date(now) });
    owner = await cp.operator('owner@m.test');
    orgId = (await owner.api.organizations.create({ name: 'm' })).id;
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('an admin invites an email with a role; that operator accepts once; the token then is dead', async () => {
    const admin = await cp.operator('admin@m.test', [{ organizationId: orgId, role: 'admin' }]);
    const inv = await admin.api.invitations.create({
      organizationId: orgId,
      email: 'Olga@M.test',
      role: 'operator',
    });
    expect(inv.email).toBe('olga@m.test');
    expect(inv.token.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(await admin.api.invitations.list({ organizationId: orgId }))).not.toContain(
      inv.token,
    );
    const olga = await cp.operator('olga@m.test');
    const mallory = await cp.operator('mallory@m.test');
    // Someone else holding the token gets nothing.
    expect(await codeOf(mallory.api.invitations.accept({ token: inv.token }))).toBe('NOT_FOUND');
    expect(await olga.api.invitations.accept({ token: inv.token })).toEqual({
      organizationId: orgId,
      role: 'operator',
    });
    expect(await olga.api.organizations.list()).toEqual([
      expect.objectContaining({ id: orgId, role: 'operator' }),
    ]);
    expect(await codeOf(olga.api.invitations.accept({ token: inv.token }))).toBe('NOT_FOUND');
    expect(await admin.api.invitations.list({ organizationId: orgId })).toEqual([]);
    const audit = await owner.api.audit.list({ organizationId: orgId });
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['invitation.create', 'invitation.accept']),
    );
    expect(JSON.stringify(audit)).not.toContain(inv.token);
  });

  it('an expired invitation is refused; a revoked one is gone', async () => {
    const inv = await owner.api.invitations.create({
      organizationId: orgId,
      email: 'late@m.test',
      role: 'viewer',
    });
    const late = await cp.operator('late@m.test');
    now += INVITATION_TTL_MS + 1000;
    const e = await codeOf(late.api.invitations.accept({ token: inv.token }));
    now = Date.now();
    expect(e).toBe('BAD_REQUEST');
    const inv2 = await owner.api.invitations.create({
      organizationId: orgId,
      email: 'late@m.test',
      role: 'viewer',
    });
    await owner.api.invitations.revoke({ invitationId: inv2.id });
    expect(await codeOf(late.api.invitations.accept({ token: inv2.token }))).toBe('NOT_FOUND');
    expect(await late.api.organizations.list()).toEqual([]);
  });

  it('only owners grant or take the owner role; the last owner is never demoted or removed', async () => {
    const admin = await cp.operator('admin2@m.test', [{ organizationId: orgId, role: 'admin' }]);
    const victim = await cp.operator('v@m.test', [{ organizationId: orgId, role: 'viewer' }]);
    expect(
      await codeOf(admin.api.invitations.create({ organizationId: orgId, email: 'o@m.test', role: 'owner' })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        admin.api.members.setRole({ organizationId: orgId, memberId: victim.operator.id, role: 'owner' }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        admin.api.members.setRole({ organizationId: orgId, memberId: owner.operator.id, role: 'viewer' }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(admin.api.members.remove({ organizationId: orgId, memberId: owner.operator.id })),
    ).toBe('FORBIDDEN');
    // The admin may change non-owners.
    await admin.api.members.setRole({
      organizationId: orgId,
      memberId: victim.operator.id,
      role: 'operator',
    });
    // The sole owner cannot demote or remove themself.
    expect(
      await codeOf(
        owner.api.members.setRole({ organizationId: orgId, memberId: owner.operator.id, role: 'admin' }),
      ),
    ).toBe('CONFLICT');
    expect(
      await codeOf(owner.api.members.remove({ organizationId: orgId, memberId: owner.operator.id })),
    ).toBe('CONFLICT');
    // With a second owner, the first may step down.
    await owner.api.members.setRole({ organizationId: orgId, memberId: victim.operator.id, role: 'owner' });
    await owner.api.members.setRole({ organizationId: orgId, memberId: owner.operator.id, role: 'admin' });
    expect(
      await codeOf(victim.api.members.remove({ organizationId: orgId, memberId: victim.operator.id })),
    ).toBe('CONFLICT');
    await victim.api.members.remove({ organizationId: orgId, memberId: admin.operator.id });
    expect(await admin.api.organizations.list()).toEqual([]);
    const members = await victim.api.members.list({ organizationId: orgId });
    expect(members.filter((m) => m.role === 'owner').map((m) => m.email)).toEqual(['v@m.test']);
  });
});
