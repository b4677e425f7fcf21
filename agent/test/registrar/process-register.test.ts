import { describe, expect, it } from 'vitest';
import { myselfFromConfig } from '../../src/core/myself.js';
import type { Binding } from '../../src/registrar/binding.js';
import { processRegister, type RegisterResult, registerAor } from '../../src/registrar/process-register.js';
import { registerRejectResponse } from '../../src/registrar/register-reject.js';
import { aBinding, alice, cfg, cidrs, register, T0, udpFlow } from './register-fixtures.js';

function ok(r: RegisterResult) {
  if (r.kind !== 'ok') throw new Error(`expected ok, got reject ${r.reason}`);
  return r;
}
const reasonOf = (r: RegisterResult) => (r.kind === 'reject' ? r.reason : 'ok');

describe('processRegister — adding, refreshing, removing (RFC 3261 §10.3)', () => {
  it('adds a binding with the flow it came from and answers 200 with Contact;expires and Date', () => {
    const r = ok(processRegister(register(), [], T0, cfg, udpFlow, alice));
    expect(r.aor).toBe('sip:alice@example.com');
    expect(r.removals).toEqual([]);
    expect(r.upserts).toHaveLength(1);
    expect(r.upserts[0]!.action).toBe('added');
    expect(r.upserts[0]!.binding).toEqual({
      aor: 'sip:alice@example.com',
      key: 'sip:alice@192.0.2.10:5060',
      contact: 'sip:alice@192.0.2.10:5060',
      q: undefined,
      expiresAt: T0 + 3_600_000,
      callId: 'call-1@192.0.2.10',
      cseq: 1,
      instanceId: undefined,
      regId: undefined,
      flow: udpFlow,
      registeredAt: T0,
    });
    expect(r.response.status).toBe(200);
    expect(r.response.contacts).toEqual(['<sip:alice@192.0.2.10:5060>;expires=3600']);
    expect(r.response.headers).toContainEqual(['Date', 'Tue, 14 Nov 2023 22:13:20 GMT']);
  });

  it("keeps the phone's User-Agent on the binding, trimmed and bounded", () => {
    const ua = (value: string) =>
      ok(processRegister(register({ headers: [['User-Agent', value]] }), [], T0, cfg, udpFlow, alice))
        .upserts[0]!.binding.userAgent;
    expect(ua('  Yealink SIP-T46U 108.86.0.20 ')).toBe('Yealink SIP-T46U 108.86.0.20');
    expect(ua('x'.repeat(500))).toHaveLength(128);
    expect(ua(' ')).toBeUndefined();
    expect(
      ok(processRegister(register(), [], T0, cfg, udpFlow, alice)).upserts[0]!.binding.userAgent,
    ).toBeUndefined();
  });

  it('dates each 200 with the second it was made in', () => {
    const dateAt = (ms: number) =>
      ok(processRegister(register(), [], ms, cfg, udpFlow, alice)).response.headers.find(
        (h) => h[0] === 'Date',
      )?.[1];
    expect(dateAt(T0 + 999)).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    expect(dateAt(T0 + 1000)).toBe('Tue, 14 Nov 2023 22:13:21 GMT');
    expect(dateAt(T0)).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    expect(dateAt(T0 + 86_400_000)).toBe('Wed, 15 Nov 2023 22:13:20 GMT');
  });

  it('uses the Expires header when the contact has no expires param, else the default', () => {
    const withHeader = ok(
      processRegister(
        register({ contact: '<sip:alice@192.0.2.10>', headers: [['Expires', '120']] }),
        [],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(withHeader.upserts[0]!.binding.expiresAt).toBe(T0 + 120_000);
    const none = ok(
      processRegister(register({ contact: '<sip:alice@192.0.2.10>' }), [], T0, cfg, udpFlow, alice),
    );
    expect(none.upserts[0]!.binding.expiresAt).toBe(T0 + 1_800_000);
  });

  it('prefers the contact expires param over the Expires header', () => {
    const r = ok(
      processRegister(
        register({ contact: '<sip:alice@192.0.2.10>;expires=300', headers: [['Expires', '120']] }),
        [],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.upserts[0]!.binding.expiresAt).toBe(T0 + 300_000);
  });

  it('clamps an interval above the maximum down to it', () => {
    const r = ok(
      processRegister(
        register({ contact: '<sip:alice@192.0.2.10>;expires=999999' }),
        [],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.upserts[0]!.binding.expiresAt).toBe(T0 + 3_600_000);
    expect(r.response.contacts[0]).toContain(';expires=3600');
  });

  it('refreshes a binding with the same Call-ID and a higher CSeq, keeping registeredAt and taking the new flow', () => {
    const existing = aBinding();
    const moved = { transport: 'udp' as const, address: '198.51.100.7', port: 40000 };
    const r = ok(processRegister(register({ cseq: 2 }), [existing], T0, cfg, moved, alice));
    expect(r.upserts).toHaveLength(1);
    expect(r.upserts[0]!.action).toBe('refreshed');
    expect(r.upserts[0]!.binding.registeredAt).toBe(existing.registeredAt);
    expect(r.upserts[0]!.binding.flow).toEqual(moved);
    expect(r.upserts[0]!.binding.cseq).toBe(2);
  });

  it('updates a binding from a different Call-ID regardless of CSeq', () => {
    const existing = aBinding({ callId: 'old-call', cseq: 50 });
    const r = ok(processRegister(register({ cseq: 1 }), [existing], T0, cfg, udpFlow, alice));
    expect(r.upserts[0]!.action).toBe('refreshed');
  });

  it('removes a binding with expires=0 and leaves the others', () => {
    const other = aBinding({ key: 'sip:alice@192.0.2.11', contact: 'sip:alice@192.0.2.11' });
    const r = ok(
      processRegister(
        register({ contact: '<sip:alice@192.0.2.10:5060>;expires=0', cseq: 2 }),
        [aBinding(), other],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.upserts).toEqual([]);
    expect(r.removals.map((b) => b.key)).toEqual(['sip:alice@192.0.2.10:5060']);
    expect(r.response.contacts).toEqual(['<sip:alice@192.0.2.11>;expires=600']);
  });

  it('removes via Expires: 0 header too, and ignores removal of an unknown binding', () => {
    const r = ok(
      processRegister(
        register({ contact: '<sip:alice@192.0.2.99>', headers: [['Expires', '0']] }),
        [aBinding()],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.removals).toEqual([]);
    expect(r.upserts).toEqual([]);
    expect(r.response.contacts).toHaveLength(1);
  });

  it('removes every binding with Contact: * and Expires: 0', () => {
    const b2 = aBinding({ key: 'k2', callId: 'other', cseq: 9 });
    const r = ok(
      processRegister(
        register({ contact: '*', headers: [['Expires', '0']], cseq: 2 }),
        [aBinding(), b2],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.removals).toHaveLength(2);
    expect(r.response.contacts).toEqual([]);
  });

  it('answers a query (no Contact) with the current bindings and changes nothing', () => {
    const expired = aBinding({ key: 'gone', expiresAt: T0 - 1 });
    const r = ok(
      processRegister(register({ contact: null }), [aBinding(), expired], T0, cfg, udpFlow, alice),
    );
    expect(r.upserts).toEqual([]);
    expect(r.removals).toEqual([]);
    expect(r.response.contacts).toEqual(['<sip:alice@192.0.2.10:5060>;expires=600']);
  });

  it('keeps several bindings per AOR with their q-values', () => {
    const req = register({
      contact: '<sip:alice@192.0.2.10>;q=0.7',
      headers: [['Contact', '<sip:alice@192.0.2.20>;q=1.0, <sip:alice@192.0.2.30>;q=0.05']],
    });
    const r = ok(processRegister(req, [], T0, cfg, udpFlow, alice));
    expect(r.upserts.map((u) => u.binding.q)).toEqual([700, 1000, 50]);
    expect(r.response.contacts).toEqual([
      '<sip:alice@192.0.2.10>;expires=1800;q=0.7',
      '<sip:alice@192.0.2.20>;expires=1800;q=1',
      '<sip:alice@192.0.2.30>;expires=1800;q=0.05',
    ]);
  });

  it('treats contact URIs equal under RFC 3261 §19.1.4 as one binding (host case, transport param)', () => {
    const existing = aBinding({ key: 'sip:alice@phone.example.net', contact: 'sip:alice@phone.example.net' });
    const r = ok(
      processRegister(
        register({ contact: '<sip:alice@PHONE.example.net;transport=tcp>', cseq: 2 }),
        [existing],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.upserts[0]!.action).toBe('refreshed');
    expect(r.response.contacts).toHaveLength(1);
  });

  it('keys bindings by +sip.instance and reg-id (RFC 5626): a new address replaces the old binding', () => {
    const inst = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"';
    const first = ok(
      processRegister(
        register({ contact: `<sip:alice@192.0.2.10>;+sip.instance=${inst};reg-id=1` }),
        [],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    const b = first.upserts[0]!.binding;
    expect(b.instanceId).toBe('<urn:uuid:00000000-0000-1000-8000-000A95A0E128>');
    expect(b.regId).toBe(1);
    const second = ok(
      processRegister(
        register({ contact: `<sip:alice@203.0.113.5:7000>;+sip.instance=${inst};reg-id=1`, cseq: 2 }),
        [b],
        T0 + 1000,
        cfg,
        { transport: 'tcp', address: '203.0.113.5', port: 7000, connectionId: 4 },
        alice,
      ),
    );
    expect(second.upserts[0]!.action).toBe('refreshed');
    expect(second.upserts[0]!.binding.contact).toBe('sip:alice@203.0.113.5:7000');
    expect(second.response.contacts).toEqual([
      '<sip:alice@203.0.113.5:7000>;expires=1800;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1',
    ]);
    // A second flow (reg-id=2) of the same instance is a second binding.
    const third = ok(
      processRegister(
        register({ contact: `<sip:alice@192.0.2.10>;+sip.instance=${inst};reg-id=2`, cseq: 3 }),
        [second.upserts[0]!.binding],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(third.response.contacts).toHaveLength(2);
  });

  it('adds Require: outbound when a reg-id binding was accepted and the UA supports outbound', () => {
    const r = ok(
      processRegister(
        register({
          contact: '<sip:alice@192.0.2.10>;+sip.instance="<urn:uuid:1>";reg-id=1',
          headers: [['Supported', 'path, outbound']],
        }),
        [],
        T0,
        cfg,
        udpFlow,
        alice,
      ),
    );
    expect(r.response.headers).toContainEqual(['Require', 'outbound']);
  });

  it('ignores reg-id without +sip.instance (RFC 5626 §6)', () => {
    const r = ok(
      processRegister(register({ contact: '<sip:alice@192.0.2.10>;reg-id=1' }), [], T0, cfg, udpFlow, alice),
    );
    expect(r.upserts[0]!.binding.regId).toBeUndefined();
    expect(r.upserts[0]!.binding.key).toBe('sip:alice@192.0.2.10');
  });

  it('canonicalises the AOR from To: unescaped user, lower-cased domain, no params or port', () => {
    const req = register({ to: '<sip:%61lice@EXAMPLE.com:5060;user=phone>', requestUri: 'sip:EXAMPLE.COM' });
    expect(registerAor(req)).toBe('sip:alice@example.com');
    expect(ok(processRegister(req, [], T0, cfg, udpFlow, alice)).aor).toBe('sip:alice@example.com');
  });

  it("takes a REGISTER to the agent's own address (myself); an AOR at that address is the default domain's", () => {
    const withMyself = {
      ...cfg,
      myself: myselfFromConfig({
        domains: ['example.com'],
        interfaces: [{ address: '192.0.2.1', port: 5060 }],
      }),
    };
    for (const to of ['<sip:alice@example.com>', '<sip:alice@192.0.2.1:5060>']) {
      const req = register({ requestUri: 'sip:192.0.2.1:5060', to });
      expect(registerAor(req, withMyself), to).toBe('sip:alice@example.com');
      expect(ok(processRegister(req, [], T0, withMyself, udpFlow, alice)).aor, to).toBe(
        'sip:alice@example.com',
      );
    }
    const elsewhere = register({ requestUri: 'sip:192.0.2.1:5080' });
    expect(reasonOf(processRegister(elsewhere, [], T0, withMyself, udpFlow, alice))).toBe('not-our-domain');
    // Without myself (only domains) the agent's address is not ours.
    const byAddress = register({ requestUri: 'sip:192.0.2.1:5060' });
    expect(reasonOf(processRegister(byAddress, [], T0, cfg, udpFlow, alice))).toBe('not-our-domain');
  });

  it('ignores bindings of another AOR passed by mistake', () => {
    const foreign = aBinding({ aor: 'sip:bob@example.com', key: 'x' });
    const r = ok(processRegister(register({ contact: null }), [foreign], T0, cfg, udpFlow, alice));
    expect(r.response.contacts).toEqual([]);
  });
});

describe('processRegister — every reject reason', () => {
  const cases: Array<[string, () => RegisterResult, string]> = [
    [
      'Request-URI of a foreign domain',
      () => processRegister(register({ requestUri: 'sip:elsewhere.net' }), [], T0, cfg, udpFlow, alice),
      'not-our-domain',
    ],
    [
      'To that is not a SIP URI (RFC 4475 §3.3.4)',
      () => processRegister(register({ to: '<isbn:2983792873>' }), [], T0, cfg, udpFlow, alice),
      'to-not-sip',
    ],
    [
      'To in another domain than the Request-URI',
      () => processRegister(register({ to: '<sip:alice@elsewhere.net>' }), [], T0, cfg, udpFlow, alice),
      'not-our-domain',
    ],
    [
      'To without a user part',
      () => processRegister(register({ to: '<sip:example.com>' }), [], T0, cfg, udpFlow, alice),
      'unknown-aor',
    ],
    [
      'third-party registration',
      () => processRegister(register({ to: '<sip:bob@example.com>' }), [], T0, cfg, udpFlow, alice),
      'not-authorized-for-aor',
    ],
    [
      'source denied by policy',
      () =>
        processRegister(
          register(),
          [],
          T0,
          { ...cfg, sourcePolicy: { ...cfg.sourcePolicy, deny: cidrs(['192.0.2.0/24']) } },
          udpFlow,
          alice,
        ),
      'forbidden-source',
    ],
    [
      'source outside the user allowFrom',
      () => processRegister(register(), [], T0, cfg, udpFlow, { ...alice, allowFrom: cidrs(['10.0.0.0/8']) }),
      'forbidden-source',
    ],
    [
      'more bindings than maxBindings',
      () =>
        processRegister(
          register({
            contact: '<sip:a@192.0.2.1>, <sip:a@192.0.2.2>',
            headers: [['Contact', '<sip:a@192.0.2.3>, <sip:a@192.0.2.4>']],
          }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'too-many-bindings',
    ],
    [
      'a tel: contact',
      () => processRegister(register({ contact: '<tel:+15551234>' }), [], T0, cfg, udpFlow, alice),
      'bad-contact',
    ],
    [
      'an unparsable contact',
      () => processRegister(register({ contact: '<sip:alice@>' }), [], T0, cfg, udpFlow, alice),
      'bad-contact',
    ],
    [
      'a bad q-value',
      () =>
        processRegister(register({ contact: '<sip:alice@192.0.2.10>;q=1.5' }), [], T0, cfg, udpFlow, alice),
      'bad-contact',
    ],
    [
      'a bad expires param',
      () =>
        processRegister(
          register({ contact: '<sip:alice@192.0.2.10>;expires=soon' }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'bad-contact',
    ],
    [
      'a bad reg-id',
      () =>
        processRegister(
          register({ contact: '<sip:a@192.0.2.10>;+sip.instance="<urn:x>";reg-id=0' }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'bad-contact',
    ],
    [
      'a malformed Expires header',
      () => processRegister(register({ headers: [['Expires', 'never']] }), [], T0, cfg, udpFlow, alice),
      'bad-expires',
    ],
    [
      '"*" with another contact',
      () =>
        processRegister(
          register({
            contact: '*',
            headers: [
              ['Contact', '<sip:a@192.0.2.1>'],
              ['Expires', '0'],
            ],
          }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'wildcard-with-other-contacts',
    ],
    [
      '"*" without Expires',
      () => processRegister(register({ contact: '*' }), [], T0, cfg, udpFlow, alice),
      'wildcard-nonzero-expires',
    ],
    [
      '"*" with Expires: 60',
      () =>
        processRegister(
          register({ contact: '*', headers: [['Expires', '60']] }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'wildcard-nonzero-expires',
    ],
    [
      'a non-zero interval below the minimum',
      () =>
        processRegister(
          register({ contact: '<sip:alice@192.0.2.10>;expires=30' }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'interval-too-brief',
    ],
    [
      'same Call-ID, same CSeq (replayed or reordered)',
      () => processRegister(register({ cseq: 1 }), [aBinding({ cseq: 1 })], T0, cfg, udpFlow, alice),
      'out-of-order',
    ],
    [
      'same Call-ID, lower CSeq',
      () => processRegister(register({ cseq: 3 }), [aBinding({ cseq: 7 })], T0, cfg, udpFlow, alice),
      'out-of-order',
    ],
    [
      '"*" with same Call-ID and not-higher CSeq',
      () =>
        processRegister(
          register({ contact: '*', headers: [['Expires', '0']], cseq: 1 }),
          [aBinding({ cseq: 1 })],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      'out-of-order',
    ],
  ];
  it.each(cases)('%s', (_name, run, reason) => {
    expect(reasonOf(run())).toBe(reason);
  });

  it('accepts a zero interval even though it is below the minimum (removal)', () => {
    expect(
      reasonOf(
        processRegister(
          register({ contact: '<sip:alice@192.0.2.10>;expires=0' }),
          [],
          T0,
          cfg,
          udpFlow,
          alice,
        ),
      ),
    ).toBe('ok');
  });

  it('allows refreshing when already above a lowered maxBindings, but not growing', () => {
    const three = [aBinding({ key: 'a' }), aBinding({ key: 'b' }), aBinding()];
    const caller = { ...alice, maxBindings: 2 };
    expect(reasonOf(processRegister(register({ cseq: 2 }), three, T0, cfg, udpFlow, caller))).toBe('ok');
    expect(
      reasonOf(
        processRegister(register({ contact: '<sip:new@192.0.2.99>' }), three, T0, cfg, udpFlow, caller),
      ),
    ).toBe('too-many-bindings');
  });

  it('maps every reason to a status through one table; 423 carries Min-Expires', () => {
    expect(registerRejectResponse('interval-too-brief', cfg)).toEqual({
      status: 423,
      reasonPhrase: 'Interval Too Brief',
      headers: [['Min-Expires', '60']],
    });
    const statuses = Object.fromEntries(
      cases.map(([, , reason]) => [reason, registerRejectResponse(reason as never, cfg).status]),
    );
    expect(statuses).toEqual({
      'not-our-domain': 404,
      'unknown-aor': 404,
      'to-not-sip': 400,
      'not-authorized-for-aor': 403,
      'forbidden-source': 403,
      'too-many-bindings': 403,
      'bad-contact': 400,
      'bad-expires': 400,
      'wildcard-with-other-contacts': 400,
      'wildcard-nonzero-expires': 400,
      'interval-too-brief': 423,
      'out-of-order': 500,
    });
  });

  it('is all-or-nothing: one bad contact rejects the whole request', () => {
    const existing: Binding = aBinding({
      key: 'sip:alice@192.0.2.20',
      contact: 'sip:alice@192.0.2.20',
      cseq: 5,
    });
    const req = register({
      contact: '<sip:alice@192.0.2.10>',
      cseq: 5,
      headers: [['Contact', '<sip:alice@192.0.2.20>']],
    });
    expect(reasonOf(processRegister(req, [existing], T0, cfg, udpFlow, alice))).toBe('out-of-order');
  });
});
