import { describe, expect, it } from 'vitest';
import { hashMachineSecret, randomToken, verifyMachineSecret } from './tokens.js';

describe('machine secrets', () => {
  it('verifies the secret it hashed and nothing else', () => {
    const secret = randomToken(24);
    const stored = hashMachineSecret(secret);
    expect(stored).not.toContain(secret);
    expect(verifyMachineSecret(secret, stored)).toBe(true);
    expect(verifyMachineSecret(`${secret}x`, stored)).toBe(false);
    expect(verifyMachineSecret(secret, stored.replace('sha256$', 'md5$'))).toBe(false);
    expect(verifyMachineSecret(secret, `scrypt$16384$8$1$AAAA$BBBB`)).toBe(false);
  });
});
