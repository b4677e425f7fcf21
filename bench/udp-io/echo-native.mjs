// NAPI_UDP=<addon> node echo-native.mjs <port>: the same replies as echo.mjs, through
// napi/napi-udp.c (recvmmsg per batch, one JS call per batch, a copy and a source object per
// datagram as the agent would make; replies sent with sendmmsg).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const udp = require(process.env.NAPI_UDP);
const u = udp.open(Number(process.argv[2]));
const reply = Buffer.alloc(300, 'y');
const names = new Map();
const nameOf = (a) => {
  let s = names.get(a);
  if (s === undefined) {
    s = `${a & 255}.${(a >>> 8) & 255}.${(a >>> 16) & 255}.${a >>> 24}`;
    names.set(a, s);
  }
  return s;
};
const MAX = 4096;
const out = Buffer.alloc(MAX * 300);
const lens = new Int32Array(MAX);
const ports = new Int32Array(MAX);
const addrs = new Int32Array(MAX);
let queued = 0;
let total = 0;
const received = [];
const flush = () => {
  udp.sendBatch(u, out, lens, ports, addrs, queued);
  queued = 0;
};
udp.start(u, (n) => {
  const m = u.meta;
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.from(new Uint8Array(u.slab, m[i * 4], m[i * 4 + 1]));
    const source = { address: nameOf(m[i * 4 + 3]), port: m[i * 4 + 2] };
    total++;
    received[0] = bytes; // what the agent would parse
    if (queued === MAX) flush();
    reply.copy(out, queued * 300);
    lens[queued] = 300;
    ports[queued] = source.port;
    addrs[queued] = m[i * 4 + 3];
    if (queued++ === 0) setImmediate(flush);
  }
});
process.on('SIGTERM', () => {
  console.log('answered', total);
  process.exit(0);
});
