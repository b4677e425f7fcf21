import { RegistrationRecordSchema } from '@sipwall/shared';
import { describe, expect, it } from 'vitest';
import { eventsForExpired, eventsForRegister, toRegistrationRecord } from '../../src/registrar/events.js';
import { processRegister } from '../../src/registrar/process-register.js';
import { aBinding, alice, cfg, register, T0, udpFlow } from './register-fixtures.js';

const ID = '2f1d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b';

describe('registration events', () => {
  it('describes a REGISTER that removed one binding and added another', () => {
    const existing = aBinding();
    const r = processRegister(
      register({
        contact: '<sip:alice@192.0.2.10:5060>;expires=0',
        headers: [['Contact', '<sip:alice@192.0.2.50>']],
        cseq: 2,
      }),
      [existing],
      T0,
      cfg,
      udpFlow,
      alice,
    );
    if (r.kind !== 'ok') throw new Error(r.reason);
    const events = eventsForRegister(r, T0);
    expect(events.map((e) => [e.action, e.contact, e.expiresSec])).toEqual([
      ['removed', 'sip:alice@192.0.2.10:5060', 0],
      ['added', 'sip:alice@192.0.2.50', 1800],
    ]);
    for (const e of events) expect(RegistrationRecordSchema.parse(toRegistrationRecord(e, ID))).toBeTruthy();
  });

  it('describes expirations, with IPv6 sources and stream transports valid for the schema', () => {
    const b = aBinding({ flow: { transport: 'tls', address: '2001:db8::1', port: 5061, connectionId: 3 } });
    const [e] = eventsForExpired([b], T0 + 700_000);
    expect(e).toMatchObject({ action: 'expired', expiresSec: 0, source: '2001:db8::1', transport: 'tls' });
    expect(RegistrationRecordSchema.safeParse(toRegistrationRecord(e!, ID)).success).toBe(true);
  });
});
