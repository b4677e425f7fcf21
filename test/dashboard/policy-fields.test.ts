import { describe, expect, it } from 'vitest';
import {
  effectiveAt,
  fromText,
  layerFromTexts,
  setAt,
  textsOf,
} from '../../control-plane/web/src/views/changes/effective.js';
import { progressOf } from '../../control-plane/web/src/views/changes/progress.js';

/** The dashboard policy editor's pure parts (no browser): sources, parsing, layer edits. */
describe('policy editor fields', () => {
  const org = { config: { logLevel: 'info', registrar: { minExpiresSec: 60 } }, policies: {} };
  const site = {
    config: { registrar: { maxExpiresSec: 900 } },
    policies: { topologyHiding: { enabled: true } },
  };

  it('the effective value comes from the site, else the organization, else the agent file', () => {
    expect(effectiveAt(org, site, 'config.registrar.maxExpiresSec')).toEqual({ value: 900, source: 'site' });
    expect(effectiveAt(org, site, 'config.registrar.minExpiresSec')).toEqual({
      value: 60,
      source: 'organization',
    });
    expect(effectiveAt(org, site, 'config.domains')).toEqual({ value: undefined, source: 'agent' });
  });

  it('texts parse to typed values; what does not parse goes as typed for the server to name', () => {
    expect(fromText('a.example, b.example\nc.example', { kind: 'list' })).toEqual([
      'a.example',
      'b.example',
      'c.example',
    ]);
    // A space inside one entry stays in it (the server refuses "exa mple.com" by name).
    expect(fromText('exa mple.com', { kind: 'list' })).toEqual(['exa mple.com']);
    expect(fromText('120', { kind: 'int', min: 1, max: 10 })).toBe(120);
    expect(fromText('12x', { kind: 'int', min: 1, max: 10 })).toBe('12x');
    expect(fromText('  ', { kind: 'bool' })).toBeUndefined();
  });

  it('editing keeps the fields the editor does not show and drops emptied objects', () => {
    const layer = {
      config: { outboundProxy: 'proxy.example:5060', registrar: { maxExpiresSec: 900 } },
      policies: {},
    };
    const texts = { ...textsOf(layer), 'config.registrar.maxExpiresSec': '', 'config.logLevel': 'warn' };
    expect(layerFromTexts(layer, texts)).toEqual({
      config: { outboundProxy: 'proxy.example:5060', logLevel: 'warn' },
      policies: {},
    });
    expect(setAt({ a: { b: 1 } }, 'a.b', undefined)).toEqual({});
  });

  it('push progress counts applied, pending and failed agents', () => {
    expect(
      progressOf([
        { configState: 'applied' },
        { configState: 'pending' },
        { configState: 'rejected' },
        { configState: 'reverted' },
        { configState: 'unmanaged' },
      ]),
    ).toEqual({ applied: 1, pending: 1, failed: 2, total: 5 });
  });
});
