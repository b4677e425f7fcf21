import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentConfigSchema } from '@sipwall/shared';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SipService, startSipService } from '../../src/sip-service.js';
import { createSystemClock } from '../../src/util/clock.js';

const here = dirname(fileURLToPath(import.meta.url));
const SIPP = spawnSync('sh', ['-c', 'command -v sipp']).stdout?.toString().trim() ?? '';
const haveSipp = SIPP !== '';
const d = haveSipp ? describe : describe.skip;
const suffix = haveSipp ? '' : ' (skipped: sipp not installed; apt-get install sip-tester)';

let service: SipService;
let port = 0;

/** A free local port for SIPp's own socket (SIPp has no "port 0"). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Runs one scenario, one call, bounded by -timeout and a kill timer; resolves with exit code + output. */
async function runSipp(
  scenario: string,
  transport: 'u1' | 't1',
): Promise<{ code: number | null; output: string }> {
  const localPort = await freePort();
  const args = [
    '-sf',
    join(here, scenario),
    '-t',
    transport,
    '-i',
    '127.0.0.1',
    '-p',
    String(localPort),
    '-m',
    '1',
    '-timeout',
    '15s',
    '-timeout_error',
    '-recv_timeout',
    '5000',
    '-nostdin',
    '-nr',
    `127.0.0.1:${port}`,
  ];
  return new Promise((resolve) => {
    const child = spawn(SIPP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output: output.slice(-6000) });
    });
  });
}

d(`SIPp scenarios against the SIP service${suffix}`, () => {
  beforeAll(async () => {
    const config = AgentConfigSchema.parse({
      sip: {
        domains: ['example.com'],
        interfaces: [
          { name: 'lan', role: 'inside', address: '127.0.0.1', port: 0, transports: ['udp', 'tcp'] },
        ],
      },
    });
    service = await startSipService({
      config,
      logger: pino({ level: 'silent' }),
      clock: createSystemClock(),
    });
    port = service.listening[0]?.port ?? 0;
  });

  afterAll(async () => {
    await service?.stop();
  });

  it.each([
    ['options-ping.xml', 'u1'],
    ['options-ping.xml', 't1'],
    ['invite-retransmit-absorbed.xml', 'u1'],
    ['malformed-request-400.xml', 'u1'],
  ] as const)(
    '%s over %s',
    async (scenario, transport) => {
      const { code, output } = await runSipp(scenario, transport);
      expect(code, output).toBe(0);
      if (process.env.SIPP_SHOW) console.log(output);
      // Final screen: every expected response arrived exactly once, none as a retransmission
      // (a Timer G resend after the ACK would show up here), nothing unexpected.
      const recvRows = [...output.matchAll(/^\s*(\d{3}) <-+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/gm)];
      expect(recvRows.length).toBeGreaterThan(0);
      for (const [, , messages, retrans, timeout, unexpected] of recvRows) {
        expect([messages, retrans, timeout, unexpected]).toEqual(['1', '0', '0', '0']);
      }
    },
    30_000,
  );
});

if (!haveSipp) {
  describe('SIPp scenarios', () => {
    it.skip('skipped: sipp not installed (apt-get install sip-tester)', () => {});
  });
}
