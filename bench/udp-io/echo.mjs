// node echo.mjs <port>: answers every datagram the agent's way (node:dgram 'message', replies queued
// and sent at setImmediate, as agent/src/transport/udp-transport.ts does); prints the count on SIGTERM.
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
const reply = Buffer.alloc(300, 'y');
let total = 0;
let out = [];
const flush = () => {
  const batch = out;
  out = [];
  for (const [port, address] of batch) socket.send(reply, port, address);
};
socket.on('message', (_m, from) => {
  total++;
  out.push([from.port, from.address]);
  if (out.length === 1) setImmediate(flush);
});
socket.bind(Number(process.argv[2]), '127.0.0.1', () => socket.setRecvBufferSize(8 << 20));
process.on('SIGTERM', () => {
  console.log('answered', total);
  process.exit(0);
});
