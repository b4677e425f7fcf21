/**
 * Heap bytes per binding in a MemoryLocationStore at 100,000 bindings, built the real way
 * (parsed REGISTER → processRegister → store.apply), so strings sliced from parsed messages
 * are accounted for.
 *
 *   node --expose-gc --conditions=@sipwall/source --import tsx agent/test/registrar/memory-per-binding.ts [count]
 */
import { userAor } from '../../src/registrar/aor.js';
import { MemoryLocationStore } from '../../src/registrar/location-store.js';
import { processRegister, type RegistrarConfig } from '../../src/registrar/process-register.js';
import { EMPTY_CIDR_SET } from '../../src/registrar/source-acl.js';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const cfg: RegistrarConfig = {
  minExpiresSec: 60,
  maxExpiresSec: 3600,
  defaultExpiresSec: 3600,
  domains: new Set(['example.com']),
  sourcePolicy: { allow: EMPTY_CIDR_SET, deny: EMPTY_CIDR_SET },
};

function registerFor(i: number): SipRequest {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const user = `user${i}`;
  const text =
    `REGISTER sip:example.com SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${ip}:5060;branch=z9hG4bK-${i}-abcdef;rport\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:${user}@example.com>;tag=tag${i}\r\n` +
    `To: <sip:${user}@example.com>\r\n` +
    `Call-ID: 0d5c1f2e-7b3a-4c9d-8e6f-${String(i).padStart(12, '0')}@${ip}\r\n` +
    `CSeq: 2 REGISTER\r\n` +
    `Contact: <sip:${user}@${ip}:5060;transport=udp;line=abcd1234>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-${String(i).padStart(12, '0')}>";reg-id=1;expires=3600\r\n` +
    `User-Agent: Yealink SIP-T46S 66.86.0.15\r\n` +
    `Supported: outbound, path, gruu\r\n` +
    `Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, INFO, SUBSCRIBE, UPDATE, MESSAGE\r\n` +
    `Content-Length: 0\r\n\r\n`;
  const r = parseMessage(Buffer.from(text, 'latin1'));
  if (!r.ok || r.value.kind !== 'request') throw new Error('fixture does not parse');
  return r.value;
}

const now = 1_700_000_000_000;
const store = MemoryLocationStore.inMemory();
gc();
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < COUNT; i++) {
  const req = registerFor(i);
  const flow = {
    transport: 'udp' as const,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 5060,
  };
  const aor = userAor(`user${i}`, 'example.com');
  const result = processRegister(req, store.lookup(aor), now, cfg, flow, {
    authenticatedAor: aor,
    maxBindings: 10,
    allowFrom: EMPTY_CIDR_SET,
  });
  if (result.kind !== 'ok') throw new Error(`rejected: ${result.reason}`);
  store.apply({ upserts: result.upserts.map((u) => u.binding), removals: result.removals });
}
gc();
gc();
const after = process.memoryUsage().heapUsed;
const perBinding = (after - before) / store.count();
console.log(
  JSON.stringify({
    bindings: store.count(),
    heapBytes: after - before,
    bytesPerBinding: Math.round(perBinding),
  }),
);
