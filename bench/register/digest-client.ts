/**
 * A small SIP UAC over UDP that performs digest-authenticated registrations itself:
 * REGISTER → 401 → REGISTER with Authorization (MD5, qop=auth) → 200, with up to `window`
 * exchanges in flight and RFC 3261-style retransmission (500 ms, doubling, 7 tries).
 * Used to fill the registrar with many bindings quickly and to check the server answers
 * REGISTER at all before SIPp is pointed at it. Every binding gets its own Contact and Call-ID.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { type BenchUser, REALM, registerResponse } from './users.js';

const LO = '127.0.0.1';

export interface RegistrationJob {
  readonly user: BenchUser;
  /** User part of the Contact URI (distinct per binding). */
  readonly contactUser: string;
}

export interface RegisterOutcome {
  ok: number;
  failed: number;
  /** Final status (or `timeout`) → count, for registrations that did not end in 200. */
  failures: Record<string, number>;
  retransmissions: number;
  seconds: number;
}

interface Pending {
  job: RegistrationJob;
  callId: string;
  stage: 1 | 2;
  text: string;
  sentAt: number;
  interval: number;
  tries: number;
}

function header(msg: string, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of msg.split('\r\n')) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).trim().toLowerCase();
    if (names.includes(name)) out.push(line.slice(c + 1).trim());
  }
  return out;
}

function param(challenge: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s,])${name}\\s*=\\s*(?:"([^"]*)"|([^\\s,]+))`, 'i').exec(challenge);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/** Registers every job once against 127.0.0.1:port; resolves when all ended. */
export function registerAll(
  port: number,
  jobs: readonly RegistrationJob[],
  window = 256,
  onProgress?: (done: number) => void,
): Promise<RegisterOutcome> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    const pending = new Map<string, Pending>();
    const out: RegisterOutcome = { ok: 0, failed: 0, failures: {}, retransmissions: 0, seconds: 0 };
    const runId = randomBytes(4).toString('hex');
    const t0 = performance.now();
    let next = 0;
    let localPort = 0;
    let timer: NodeJS.Timeout | undefined;

    const uri = `sip:${REALM}`;
    const build = (p: Pending, auth: string) => {
      const { job } = p;
      const u = job.user.username;
      return (
        `REGISTER ${uri} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${LO}:${localPort};branch=z9hG4bK${p.callId}.${p.stage};rport\r\n` +
        'Max-Forwards: 70\r\n' +
        `From: <sip:${u}@${REALM}>;tag=${p.callId}\r\n` +
        `To: <sip:${u}@${REALM}>\r\n` +
        `Call-ID: ${p.callId}\r\n` +
        `CSeq: ${p.stage} REGISTER\r\n` +
        `Contact: <sip:${job.contactUser}@${LO}:${localPort};transport=udp>\r\n` +
        auth +
        'Expires: 3600\r\n' +
        'User-Agent: sipwall-bench-register\r\n' +
        'Content-Length: 0\r\n\r\n'
      );
    };
    const send = (p: Pending) => {
      p.sentAt = performance.now();
      sock.send(p.text, port, LO);
    };
    const finish = (p: Pending, result: string) => {
      pending.delete(p.callId);
      if (result === '200') out.ok++;
      else {
        out.failed++;
        out.failures[result] = (out.failures[result] ?? 0) + 1;
      }
      const done = out.ok + out.failed;
      if (onProgress !== undefined && done % 10_000 === 0) onProgress(done);
      fill();
    };
    const fill = () => {
      while (pending.size < window && next < jobs.length) {
        const p: Pending = {
          job: jobs[next]!,
          callId: `${runId}-${next}`,
          stage: 1,
          text: '',
          sentAt: 0,
          interval: 500,
          tries: 1,
        };
        next++;
        p.text = build(p, '');
        pending.set(p.callId, p);
        send(p);
      }
      if (pending.size === 0 && next >= jobs.length) {
        clearInterval(timer);
        out.seconds = (performance.now() - t0) / 1000;
        sock.close();
        resolve(out);
      }
    };

    sock.on('error', (e) => {
      clearInterval(timer);
      sock.close();
      reject(e);
    });
    sock.on('message', (buf) => {
      const msg = buf.toString('latin1');
      if (!msg.startsWith('SIP/2.0 ')) return;
      const status = Number(msg.slice(8, 11));
      if (status < 200) return;
      const callId = header(msg, ['call-id', 'i'])[0];
      const p = callId === undefined ? undefined : pending.get(callId);
      if (p === undefined) return; // late duplicate
      const cseq = Number(/^\d+/.exec(header(msg, ['cseq'])[0] ?? '')?.[0]);
      if (cseq !== p.stage) return;
      if (p.stage === 1 && status === 401) {
        const challenges = header(msg, ['www-authenticate']);
        const ch = challenges.find(
          (c) => /^digest\s/i.test(c) && /^(md5)?$/i.test(param(c, 'algorithm') ?? ''),
        );
        const nonce = ch === undefined ? undefined : param(ch, 'nonce');
        if (ch === undefined || nonce === undefined) return finish(p, '401-no-md5-challenge');
        const realm = param(ch, 'realm') ?? REALM;
        const opaque = param(ch, 'opaque');
        const qop = param(ch, 'qop');
        const u = p.job.user.username;
        const cnonce = randomBytes(8).toString('hex');
        const nc = '00000001';
        const useQop = qop !== undefined && /(^|,)\s*auth\s*(,|$)/.test(qop);
        const response = registerResponse(p.job.user.ha1, nonce, uri, useQop ? { nc, cnonce } : undefined);
        const auth =
          `Authorization: Digest username="${u}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
          `response="${response}", algorithm=MD5` +
          (useQop ? `, qop=auth, nc=${nc}, cnonce="${cnonce}"` : '') +
          (opaque !== undefined ? `, opaque="${opaque}"` : '') +
          '\r\n';
        p.stage = 2;
        p.tries = 1;
        p.interval = 500;
        p.text = build(p, auth);
        send(p);
        return;
      }
      finish(p, p.stage === 2 && status === 200 ? '200' : String(status));
    });
    sock.bind(0, LO, () => {
      localPort = sock.address().port;
      timer = setInterval(() => {
        const now = performance.now();
        for (const p of [...pending.values()]) {
          if (now - p.sentAt < p.interval) continue;
          if (p.tries >= 7) {
            finish(p, 'timeout');
            continue;
          }
          p.tries++;
          p.interval = Math.min(p.interval * 2, 4000);
          out.retransmissions++;
          send(p);
        }
      }, 100);
      fill();
    });
  });
}
