// Test helper: a UDP party in a network namespace (started with `ip netns exec <ns> node nftables-udp.mjs`),
// driven by JSON lines on stdin, one answer line each:
//   {"op":"bind","address":"192.168.77.10","port":4000}
//   {"op":"send","from":"192.168.77.10:4000","to":"192.168.77.1:30000","payloads":["x1","x2"],"gapMs":0}
//   {"op":"take"}  -> the datagrams received since the last take: [{ from, to, data }]
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

const sockets = new Map();
let received = [];

const split = (s) => {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function handle(c) {
  switch (c.op) {
    case 'bind': {
      const key = `${c.address}:${c.port}`;
      const s = createSocket(c.address.includes(':') ? 'udp6' : 'udp4');
      s.on('message', (msg, rinfo) => {
        received.push({ from: `${rinfo.address}:${rinfo.port}`, to: key, data: msg.toString('utf8') });
      });
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.bind(c.port, c.address, () => resolve());
      });
      sockets.set(key, s);
      return key;
    }
    case 'send': {
      const s = sockets.get(c.from);
      if (s === undefined) throw new Error(`not bound: ${c.from}`);
      const [address, port] = split(c.to);
      for (const p of c.payloads) {
        await new Promise((resolve, reject) => s.send(p, port, address, (e) => (e ? reject(e) : resolve())));
        if (c.gapMs) await sleep(c.gapMs);
      }
      return c.payloads.length;
    }
    case 'take': {
      const r = received;
      received = [];
      return r;
    }
    case 'exit':
      process.exit(0);
  }
  throw new Error(`unknown op ${c.op}`);
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    try {
      const result = await handle(JSON.parse(line));
      process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.message ?? e) })}\n`);
    }
  });
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
