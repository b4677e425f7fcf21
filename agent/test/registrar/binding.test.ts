import { describe, expect, it } from 'vitest';
import { compactBinding, formatQ, renderBindingContact } from '../../src/registrar/binding.js';
import { detachString } from '../../src/util/detach-string.js';
import { aBinding, T0 } from './register-fixtures.js';

describe('binding helpers', () => {
  it.each([
    [1000, '1'],
    [0, '0'],
    [500, '0.5'],
    [50, '0.05'],
    [5, '0.005'],
    [123, '0.123'],
  ])('formats q=%i thousandths as %s', (q, text) => {
    expect(formatQ(q)).toBe(text);
  });

  it('renders the 200 OK Contact with remaining expires rounded up', () => {
    const b = aBinding({ expiresAt: T0 + 1500, q: 700, instanceId: '<urn:uuid:1>', regId: 2 });
    expect(renderBindingContact(b, T0)).toBe(
      '<sip:alice@192.0.2.10:5060>;expires=2;q=0.7;+sip.instance="<urn:uuid:1>";reg-id=2',
    );
    expect(renderBindingContact(b, T0 + 9999)).toContain(';expires=0;');
  });

  it('compactBinding keeps every field and shares the AOR string it is given', () => {
    const b = aBinding({ flow: { transport: 'tcp', address: '2001:db8::1', port: 5060, connectionId: 3 } });
    const shared = 'sip:alice@example.com';
    const c = compactBinding(b, shared);
    expect(c).toEqual(b);
    expect(c.aor).toBe(shared);
  });

  it('detachString copies any string exactly, latin1 or not', () => {
    for (const s of [
      'short',
      'x'.repeat(40),
      'sip:\u00e9l\u00e8ve@example.com;x=yyyyyy',
      'sip:\u65e5\u672c@example.com;zzzzzz',
    ]) {
      expect(detachString(s)).toBe(s);
    }
  });
});
