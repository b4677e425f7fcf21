import { describe, expect, it } from 'vitest';
import { branchFor, isLoop, loopHash } from '../../src/proxy/loop.js';
import { anInvite } from '../sip/builders.js';
import { interfaces, OUTSIDE } from './proxy-fixtures.js';

describe('loop detection (RFC 3261 §16.3 step 4)', () => {
  const first = anInvite({ requestUri: 'sip:carol@far.example' });
  const ours = branchFor(loopHash(first), 'z9hG4bKabc');

  it('sees its own branch for the same request as a loop', () => {
    const back = anInvite({
      requestUri: 'sip:carol@far.example',
      via: [
        'SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKother',
        `SIP/2.0/UDP ${OUTSIDE}:5060;branch=${ours}`,
        first.via[0]!.raw,
      ],
    });
    expect(isLoop(back, interfaces())).toBe(true);
  });

  it('lets a spiral through (the Request-URI changed)', () => {
    const spiral = anInvite({
      requestUri: 'sip:carol@192.0.2.44',
      via: [
        'SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKother',
        `SIP/2.0/UDP ${OUTSIDE}:5060;branch=${ours}`,
      ],
    });
    expect(isLoop(spiral, interfaces())).toBe(false);
  });

  it('ignores the same branch text under somebody else’s address', () => {
    const foreign = anInvite({
      requestUri: 'sip:carol@far.example',
      via: [
        'SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKother',
        `SIP/2.0/UDP 198.51.100.1:5060;branch=${ours}`,
      ],
    });
    expect(isLoop(foreign, interfaces())).toBe(false);
  });
});
