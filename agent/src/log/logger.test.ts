import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from './logger.js';

it('never writes tokens or MQTT passwords', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  logger.info({ controlPlane: { url: 'http://x', enrollmentToken: 'tok-1234567890abcdef' } }, 'cfg');
  logger.info({ credentials: { mqtt: { password: 'p4ssw0rd-p4ssw0rd' } } }, 'creds');
  logger.info({ token: 'bare-token-value' }, 'bare');
  const out = lines.join('');
  expect(out).not.toContain('tok-1234567890abcdef');
  expect(out).not.toContain('p4ssw0rd-p4ssw0rd');
  expect(out).not.toContain('bare-token-value');
  expect(out).toContain('[redacted]');
});
