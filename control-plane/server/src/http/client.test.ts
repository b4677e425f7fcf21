import { describe, expect, it } from 'vitest';
import { resolveClient, TrustedProxies, trustedProxyEntryProblem } from './client.js';

const h = (headers: Record<string, string>) => new Headers(headers);

describe('resolveClient', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '::1']);

  it('believes X-Forwarded-* only from a trusted peer', () => {
    const headers = h({ host: 'cp:8080', 'x-forwarded-for': '192.0.2.1', 'x-forwarded-proto': 'https' });
    expect(resolveClient('203.0.113.5', headers, trusted)).toEqual({
      ip: '203.0.113.5',
      proto: 'http',
      host: 'cp:8080',
    });
    expect(resolveClient('10.1.2.3', headers, trusted)).toEqual({
      ip: '192.0.2.1',
      proto: 'https',
      host: 'cp:8080',
    });
    expect(resolveClient('::ffff:10.1.2.3', headers, trusted).ip).toBe('192.0.2.1');
  });

  it('walks X-Forwarded-For from the right, past trusted hops; a client-sent left part is not believed', () => {
    const headers = h({ 'x-forwarded-for': '1.1.1.1, 192.0.2.7, 10.0.0.9' });
    expect(resolveClient('::1', headers, trusted).ip).toBe('192.0.2.7');
  });

  it('trusts nobody by default', () => {
    const headers = h({ 'x-forwarded-for': '192.0.2.1', 'x-forwarded-proto': 'https' });
    expect(resolveClient('127.0.0.1', headers, new TrustedProxies([]))).toMatchObject({
      ip: '127.0.0.1',
      proto: 'http',
    });
  });

  it('validates entries', () => {
    expect(trustedProxyEntryProblem('loopback')).toBeNull();
    expect(trustedProxyEntryProblem('fd00::/8')).toBeNull();
    expect(trustedProxyEntryProblem('10.0.0.0/33')).toMatch(/prefix/);
    expect(trustedProxyEntryProblem('proxy.local')).toMatch(/not an IP/);
  });
});
