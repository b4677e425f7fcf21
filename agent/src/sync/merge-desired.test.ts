import { DesiredStateSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { decideDesired } from './desired-decision.js';
import { desiredFixture, fileConfigFixture } from '../../test/sync/fixtures.js';
import { mergeDesired } from './merge-desired.js';

describe('mergeDesired', () => {
  it('lays managed fields over the file and replaces users and policies', () => {
    const file = fileConfigFixture();
    const r = mergeDesired(file, DesiredStateSchema.parse(desiredFixture(3)));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.sip.domains).toEqual(['managed.test']);
    expect(r.value.log.level).toBe('debug');
    expect(r.value.users.map((u) => u.username)).toEqual(['alice']);
    expect(r.value.sip.interfaces).toEqual(file.sip.interfaces);
    expect(r.value.site).toBe('lab');
  });

  it('keeps file values for absent managed fields', () => {
    const r = mergeDesired(fileConfigFixture(), DesiredStateSchema.parse(desiredFixture(1, { config: {} })));
    expect(r.ok && r.value.sip.domains).toEqual(['file.test']);
  });

  it('refuses a combination that is invalid as a whole', () => {
    const desired = DesiredStateSchema.parse(
      desiredFixture(2, { config: { registrar: { minExpiresSec: 7200 } } }),
    );
    const r = mergeDesired(fileConfigFixture(), desired);
    expect(!r.ok && r.error.map((i) => i.path)).toContain('sip.registrar.minExpiresSec');
  });
});

describe('decideDesired', () => {
  const file = fileConfigFixture();
  const payload = (v: unknown) => JSON.stringify(v);

  it('applies a newer valid version', () => {
    expect(decideDesired(payload(desiredFixture(2)), file, 1).kind).toBe('apply');
    expect(decideDesired(payload(desiredFixture(1)), file, null).kind).toBe('apply');
  });

  it('treats the applied version as a duplicate and an older one as stale', () => {
    expect(decideDesired(payload(desiredFixture(2)), file, 2)).toEqual({ kind: 'duplicate', version: 2 });
    expect(decideDesired(payload(desiredFixture(1)), file, 2)).toEqual({
      kind: 'stale',
      version: 1,
      appliedVersion: 2,
    });
  });

  it('rejects an invalid payload naming the field and the version', () => {
    const d = decideDesired(payload(desiredFixture(4, { config: { domains: ['bad domain!'] } })), file, 1);
    expect(d).toMatchObject({ kind: 'reject', rejectedVersion: 4 });
    expect(d.kind === 'reject' && d.errors.map((e) => e.path)).toContain('config.domains.0');
  });

  it('rejects non-JSON without a version', () => {
    const d = decideDesired('{nope', file, 1);
    expect(d.kind).toBe('reject');
    expect(d.kind === 'reject' && d.rejectedVersion).toBeUndefined();
  });
});
