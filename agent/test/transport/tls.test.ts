import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';
import { options, statusOf } from './sip-clients.js';

const haveOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
const d = haveOpenssl ? describe : describe.skip;

let dir: string;
let service: SipService;

d(`SIP over TLS${haveOpenssl ? '' : ' (skipped: openssl missing to make a test certificate)'}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sipwall-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { timeout: 20_000 },
    );
    expect(r.status).toBe(0);
    const config = AgentConfigSchema.parse({
      sip: {
        domains: ['example.com'],
        interfaces: [{ name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['tls'] }],
        tls: { certFile, keyFile },
      },
    });
    service = await startSipService({
      config,
      logger: pino({ level: 'silent' }),
      clock: createSystemClock(),
    });
  }, 30_000);

  afterAll(async () => {
    await service?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers OPTIONS over TLS on the same connection', async () => {
    const port = service.listening[0]?.port ?? 0;
    const data = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        s.write(options('127.0.0.1:1;branch=z9hG4bKtls1', { transport: 'TLS' }));
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no answer over TLS: ${got}`));
      }, 5000);
      s.setEncoding('latin1');
      s.on('data', (c: string) => {
        got += c;
        if (got.includes('\r\n\r\n')) {
          clearTimeout(timer);
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    expect(statusOf(data)).toBe(200);
  });
});
