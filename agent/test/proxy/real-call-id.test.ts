import { describe, expect, it } from 'vitest';
import { realCallId } from '../../src/proxy/hiding.js';
import { Sealer } from '../../src/proxy/seal.js';

describe('realCallId (the call trace joins both legs with it)', () => {
  const sealer = new Sealer(Buffer.alloc(64, 7));
  it('opens a Call-ID sealed either way and leaves others as they are', () => {
    const real = '1-6771@192.168.1.20';
    expect(realCallId(`sw1${sealer.seal(real)}`, sealer)).toBe(real);
    expect(realCallId(`sw0${sealer.seal(real)}`, sealer)).toBe(real);
    expect(realCallId(real, sealer)).toBe(real);
  });
  it('keeps a prefixed Call-ID that does not open (another key, or not sealed at all)', () => {
    const other = new Sealer(Buffer.alloc(64, 8));
    const foreign = `sw1${other.seal('x@10.0.0.1')}`;
    expect(realCallId(foreign, sealer)).toBe(foreign);
    expect(realCallId('sw1-not-sealed', sealer)).toBe('sw1-not-sealed');
  });
});
