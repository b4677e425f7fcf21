import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

/** Raw SIP text helpers for socket-level tests (bounded waits everywhere). */
export function sipText(lines: string[], body = ''): Buffer {
  return Buffer.from(
    `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'latin1',
  );
}

export function options(
  via: string,
  opts: { uri?: string; callId?: string; transport?: string } = {},
): Buffer {
  return sipText([
    `OPTIONS ${opts.uri ?? 'sip:example.com'} SIP/2.0`,
    `Via: SIP/2.0/${opts.transport ?? 'UDP'} ${via}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=probe1',
    'To: <sip:example.com>',
    `Call-ID: ${opts.callId ?? `opt-${Math.random().toString(36).slice(2)}`}`,
    'CSeq: 1 OPTIONS',
  ]);
}

export function statusOf(message: string): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(message)?.[1] ?? 0);
}

function waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = check();
      if (v !== undefined) return resolve(v);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export class UdpClient {
  readonly received: string[] = [];
  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (m) => this.received.push(m.toString('latin1')));
  }

  static async open(): Promise<UdpClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new UdpClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(bytes: Buffer, port: number): Promise<void> {
    return new Promise((r, j) => this.socket.send(bytes, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  }

  waitFor(count: number, timeoutMs = 3000): Promise<string[]> {
    return waitUntil(
      () => (this.received.length >= count ? this.received : undefined),
      timeoutMs,
      `${count} datagrams`,
    );
  }

  /** Resolves with every datagram received so far once one matches `pred`. */
  waitForMatch(pred: (message: string) => boolean, timeoutMs = 3000): Promise<string[]> {
    return waitUntil(
      () => (this.received.some(pred) ? this.received : undefined),
      timeoutMs,
      'a matching datagram',
    );
  }

  close(): void {
    this.socket.close();
  }
}

export class TcpClient {
  data = '';
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  /** `localAddress`: any 127.x.y.z works on Linux loopback, so one test can play many sources. */
  static open(port: number, localAddress?: string): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) }, () =>
        resolve(new TcpClient(s)),
      );
      s.once('error', reject);
    });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  waitForData(pred: (data: string) => boolean, timeoutMs = 3000): Promise<string> {
    return waitUntil(() => (pred(this.data) ? this.data : undefined), timeoutMs, 'tcp data');
  }

  waitForClose(timeoutMs = 3000): Promise<true> {
    return waitUntil(() => (this.closed ? true : undefined), timeoutMs, 'tcp close');
  }

  close(): void {
    this.socket.destroy();
  }
}
