/**
 * A minimal client of rtpengine's ng control protocol: `<cookie> <bencoded dict>` per UDP datagram,
 * the reply carries the same cookie. Enough for bench/media: ping, offer, answer, delete.
 */
import { createSocket, type Socket } from 'node:dgram';

export type BValue = string | number | BValue[] | { [key: string]: BValue };

export function bencode(v: BValue): Buffer {
  const parts: Buffer[] = [];
  const put = (x: BValue): void => {
    if (typeof x === 'number') {
      parts.push(Buffer.from(`i${Math.trunc(x)}e`, 'latin1'));
    } else if (typeof x === 'string') {
      const b = Buffer.from(x, 'latin1');
      parts.push(Buffer.from(`${b.length}:`, 'latin1'), b);
    } else if (Array.isArray(x)) {
      parts.push(Buffer.from('l'));
      for (const y of x) put(y);
      parts.push(Buffer.from('e'));
    } else {
      parts.push(Buffer.from('d'));
      for (const k of Object.keys(x).sort()) {
        put(k);
        put(x[k]!);
      }
      parts.push(Buffer.from('e'));
    }
  };
  put(v);
  return Buffer.concat(parts);
}

/** Decodes one value at `at`; strings come back as latin1 text. Throws on malformed input. */
export function bdecode(b: Buffer, at = 0): { value: BValue; next: number } {
  const c = b[at];
  if (c === 0x69 /* i */) {
    const end = b.indexOf(0x65, at);
    if (end < 0) throw new Error('bencode: unterminated integer');
    return { value: Number(b.toString('latin1', at + 1, end)), next: end + 1 };
  }
  if (c === 0x6c /* l */) {
    const out: BValue[] = [];
    let i = at + 1;
    while (b[i] !== 0x65) {
      if (i >= b.length) throw new Error('bencode: unterminated list');
      const r = bdecode(b, i);
      out.push(r.value);
      i = r.next;
    }
    return { value: out, next: i + 1 };
  }
  if (c === 0x64 /* d */) {
    const out: { [key: string]: BValue } = {};
    let i = at + 1;
    while (b[i] !== 0x65) {
      if (i >= b.length) throw new Error('bencode: unterminated dict');
      const k = bdecode(b, i);
      const v = bdecode(b, k.next);
      out[String(k.value)] = v.value;
      i = v.next;
    }
    return { value: out, next: i + 1 };
  }
  const colon = b.indexOf(0x3a, at);
  if (colon < 0) throw new Error(`bencode: bad byte ${c} at ${at}`);
  const len = Number(b.toString('latin1', at, colon));
  if (!Number.isInteger(len) || len < 0) throw new Error('bencode: bad string length');
  return { value: b.toString('latin1', colon + 1, colon + 1 + len), next: colon + 1 + len };
}

/** One ng control socket; requests wait for their own cookie's reply (bounded by `timeoutMs`). */
export class NgClient {
  private readonly socket: Socket;
  private readonly waiting = new Map<string, (reply: { [key: string]: BValue }) => void>();
  private seq = 0;
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      if (sp < 0) return;
      const cookie = msg.toString('latin1', 0, sp);
      const done = this.waiting.get(cookie);
      if (done === undefined) return;
      try {
        done(bdecode(msg, sp + 1).value as { [key: string]: BValue });
      } catch {}
    });
  }

  request(cmd: { [key: string]: BValue }, timeoutMs = 2000): Promise<{ [key: string]: BValue }> {
    // rtpengine caches replies by cookie: unique per request and per process
    const cookie = `${process.pid}_${Date.now()}_${++this.seq}`;
    const body = Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), bencode(cmd)]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(cookie);
        reject(new Error(`ng ${String(cmd.command)}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(cookie, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(cookie);
        resolve(reply);
      });
      this.socket.send(body, this.port, this.host);
    });
  }

  close(): void {
    this.socket.close();
  }
}
