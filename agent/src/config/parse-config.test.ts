import { describe, expect, it } from 'vitest';
import { applyOverrides } from './overrides.js';
import { parseConfigText } from './parse-config.js';

const base = `
sip:
  domains: [example.test]
  interfaces:
    - { name: inside, role: inside, address: 127.0.0.1, port: 5060 }
`;

describe('parseConfigText', () => {
  it('fills defaults and resolves a relative stateDir against the config directory', () => {
    const r = parseConfigText(`${base}stateDir: ./state\n`, 'a.yaml', '/etc/sipwall');
    expect(r.ok && r.value.stateDir).toBe('/etc/sipwall/state');
    expect(r.ok && r.value.admin).toEqual({ address: '127.0.0.1', port: 9090 });
  });

  it('gives the telemetry outbox a 64 MiB disk quota unless set', () => {
    const cp = `${base}controlPlane: { url: 'https://cp.example.test' }\n`;
    const r = parseConfigText(cp, 'a.yaml', '/');
    expect(r.ok && r.value.controlPlane?.outbox).toEqual({ maxBytes: 64 * 1024 * 1024 });
    const set = parseConfigText(cp.replace("' }", "', outbox: { maxBytes: 2097152 } }"), 'a.yaml', '/');
    expect(set.ok && set.value.controlPlane?.outbox.maxBytes).toBe(2_097_152);
  });

  it('keeps an absolute stateDir', () => {
    const r = parseConfigText(`${base}stateDir: /var/lib/x\n`, 'a.yaml', '/etc');
    expect(r.ok && r.value.stateDir).toBe('/var/lib/x');
  });

  it.each([
    ['port too big', base.replace('port: 5060', 'port: 70000'), 'sip.interfaces.0.port'],
    ['unknown key', `${base}bogus: 1\n`, '(root)'],
    ['bad address', base.replace('127.0.0.1', 'not-an-ip'), 'sip.interfaces.0.address'],
    ['missing sip', 'site: x\n', 'sip'],
    [
      'outbox quota too small',
      `${base}controlPlane: { url: 'https://cp.example.test', outbox: { maxBytes: 1000 } }\n`,
      'controlPlane.outbox.maxBytes',
    ],
  ])('rejects %s naming the field', (_name, text, path) => {
    const r = parseConfigText(text, 'a.yaml', '/');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('AGENT_ERR_CONFIG_INVALID');
    expect(r.error.issues.map((i) => i.path)).toContain(path);
    expect(r.error.message).toContain(`${path}: `);
  });

  it('takes media.earlyMedia (default answer) and names the field and the bad value', () => {
    const d = parseConfigText(base, 'a.yaml', '/');
    expect(d.ok && d.value.media.earlyMedia).toBe('answer');
    const o = parseConfigText(`${base}media: { earlyMedia: offer }\n`, 'a.yaml', '/');
    expect(o.ok && o.value.media.earlyMedia).toBe('offer');
    const bad = parseConfigText(`${base}media: { earlyMedia: invite }\n`, 'a.yaml', '/');
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.issues.map((i) => i.path)).toContain('media.earlyMedia');
    expect(bad.error.message).toContain('media.earlyMedia: must be "answer" or "offer" (got "invite")');
  });

  it('reports YAML syntax errors with line and column', () => {
    const r = parseConfigText('sip:\n  domains: [a\n  x: : :\n', 'a.yaml', '/');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('AGENT_ERR_CONFIG_YAML');
    expect(r.error.message).toMatch(/line \d+, column \d+/);
  });

  it('treats an empty file as an empty object (and says what is missing)', () => {
    const r = parseConfigText('', 'a.yaml', '/');
    expect(!r.ok && r.error.issues.map((i) => i.path)).toContain('sip');
  });
});

describe('applyOverrides', () => {
  it('replaces every interface port and the admin port', () => {
    const r = parseConfigText(
      `${base}    - { name: outside, role: outside, address: 127.0.0.2, port: 5080 }\n`,
      'a.yaml',
      '/',
    );
    if (!r.ok) throw r.error;
    const c = applyOverrides(r.value, { sipPort: 0, adminPort: 0 });
    expect(c.sip.interfaces.map((i) => i.port)).toEqual([0, 0]);
    expect(c.admin.port).toBe(0);
    expect(applyOverrides(r.value, {})).toEqual(r.value);
  });
});
