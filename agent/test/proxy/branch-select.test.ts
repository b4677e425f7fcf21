import { describe, expect, it } from 'vitest';
import { bestResponse, cancelsOthers, upstreamStatus } from '../../src/proxy/branch-select.js';
import { aResponse, anInvite } from '../sip/builders.js';

const inv = anInvite();
const r = (status: number) => aResponse(status, inv);

describe('bestResponse (RFC 3261 §16.7 step 6)', () => {
  it('prefers a 6xx over everything', () => {
    expect(bestResponse([r(486), r(302), r(603), r(404)])!.status).toBe(603);
  });
  it('takes the lowest class otherwise, the first of a class', () => {
    expect(bestResponse([r(500), r(404), r(302)])!.status).toBe(302);
    const a = r(404);
    expect(bestResponse([r(500), a, r(480)])).toBe(a);
  });
  it('prefers a challenge within 4xx (to aggregate it) and a real answer over a timeout', () => {
    expect(bestResponse([r(404), r(407), r(486)])!.status).toBe(407);
    expect(bestResponse([r(408), r(486)])!.status).toBe(486);
  });
  it('ranks 503 last within 5xx and answers nothing for no responses', () => {
    expect(bestResponse([r(503), r(500)])!.status).toBe(500);
    expect(bestResponse([])).toBeUndefined();
  });
});

describe('upstream status and cancellation', () => {
  it('never forwards a 503 as such', () => {
    expect(upstreamStatus(r(503))).toEqual({ status: 500, reason: 'Server Internal Error' });
    expect(upstreamStatus(r(486)).status).toBe(486);
  });
  it('cancels other branches on 2xx and 6xx only', () => {
    expect([200, 202, 486, 503, 600, 603].map(cancelsOthers)).toEqual([true, true, false, false, true, true]);
  });
});
