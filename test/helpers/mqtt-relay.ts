import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 between an agent and its broker, to take the broker away at a chosen
 * moment like a network outage: `cutAfter(bytes)` forwards the next broker→agent chunk that
 * contains `bytes` (e.g. a desired topic), then closes every connection and stops listening, so
 * nothing the agent sends afterwards (its `reported` state) reaches the broker.
 */
export interface MqttRelay {
  readonly port: number;
  cutAfter(marker: string): Promise<void>;
  /** Closes every connection and stops listening (connections are then refused). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

export async function startMqttRelay(target: { host: string; port: number }): Promise<MqttRelay> {
  const sockets = new Set<Socket>();
  let marker: { bytes: Buffer; hit: () => void } | undefined;
  let server: Server | undefined;
  let port = 0;

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const down = async () => {
    for (const s of sockets) s.destroy();
    const srv = server;
    server = undefined;
    if (srv !== undefined) await new Promise<void>((r) => srv.close(() => r()));
  };
  const up = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((agent) => {
        track(agent);
        agent.pause();
        const broker = new Socket();
        track(broker);
        broker.connect(target.port, target.host, () => agent.resume());
        let cut = false;
        // After the marker nothing from the agent reaches the broker, even before the sockets close.
        agent.on('data', (d) => {
          if (!cut) broker.write(d);
        });
        broker.on('data', (d) => {
          agent.write(d);
          if (marker !== undefined && d.includes(marker.bytes)) {
            const m = marker;
            marker = undefined;
            cut = true;
            // Let the chunk reach the agent, then the outage.
            agent.end(() => void down().then(m.hit));
          }
        });
        agent.on('close', () => broker.destroy());
        broker.on('close', () => agent.destroy());
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const a = srv.address();
        port = typeof a === 'object' && a !== null ? a.port : port;
        server = srv;
        resolve();
      });
    });
  await up();
  return {
    get port() {
      return port;
    },
    cutAfter: (text) => new Promise<void>((hit) => (marker = { bytes: Buffer.from(text), hit })),
    down,
    up,
  };
}
