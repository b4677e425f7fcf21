import { describe, expect, it } from 'vitest';
import { fieldLabel } from '../../control-plane/web/src/lib/errors.js';
import { formatDuration, formatPercent } from '../../control-plane/web/src/lib/format.js';
import { roleAtLeast } from '../../control-plane/web/src/lib/roles.js';
import { callPath, isSiteTab, sitePath, statsPath } from '../../control-plane/web/src/lib/route-links.js';

/** The dashboard's pure helpers (no browser): URLs, role ranks, field names in words, formats. */
describe('dashboard lib', () => {
  it('builds the URLs the router matches, encoding each segment', () => {
    expect(sitePath('o1', 's1')).toBe('/orgs/o1/sites/s1');
    expect(sitePath('o1', 's1', 'overview')).toBe('/orgs/o1/sites/s1');
    expect(sitePath('o1', 's1', 'calls')).toBe('/orgs/o1/sites/s1/calls');
    expect(callPath('o1', '1-42@10.0.0.1', 'ag-x')).toBe('/orgs/o1/calls/1-42%4010.0.0.1?agent=ag-x');
    expect(callPath('o1', 'a/b', 'ag-x')).toBe('/orgs/o1/calls/a%2Fb?agent=ag-x');
    expect(statsPath('o1')).toBe('/orgs/o1/stats');
    expect(statsPath('o1', { siteId: 's1', range: '7d' })).toBe('/orgs/o1/stats?site=s1&range=7d');
    expect(isSiteTab('phones')).toBe(true);
    expect(isSiteTab('nope')).toBe(false);
    expect(isSiteTab(undefined)).toBe(false);
  });

  it('ranks roles viewer < operator < admin < owner', () => {
    expect(roleAtLeast('viewer', 'operator')).toBe(false);
    expect(roleAtLeast('operator', 'operator')).toBe(true);
    expect(roleAtLeast('admin', 'operator')).toBe(true);
    expect(roleAtLeast('admin', 'owner')).toBe(false);
    expect(roleAtLeast('owner', 'admin')).toBe(true);
  });

  it('says a field path in words, never the raw library path', () => {
    expect(fieldLabel('config.domains.2')).toBe('Domains, item 3');
    expect(fieldLabel('policies.callAdmission.maxConcurrentCallsPerUser')).toBe(
      'Call admission, max concurrent calls per user',
    );
    expect(fieldLabel('sipDomains')).toBe('SIP domains');
    expect(fieldLabel('name')).toBe('Name');
  });

  it('formats durations and shares', () => {
    expect(formatDuration(9)).toBe('0:09');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatPercent(0.754)).toBe('75 %');
    expect(formatPercent(null)).toBe('—');
  });
});
