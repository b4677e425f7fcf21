import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.js';

describe('parseEnv', () => {
  it('applies defaults', () => {
    const r = parseEnv({});
    expect(r.ok && r.env).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      MQTT_PORT: 1883,
      DATA_DIR: './data',
      MQTT_PROVISIONING: 'none',
      SIPWALL_ADMIN_EMAIL: 'admin@sipwall.local',
      LOG_LEVEL: 'info',
    });
    expect(r.ok && r.env.DATABASE_URL).toBeUndefined();
    expect(r.ok && r.env.SIPWALL_ADMIN_PASSWORD).toBeUndefined();
  });

  it('names each bad variable', () => {
    const r = parseEnv({
      PORT: 'eighty',
      MQTT_URL: 'http://x',
      MQTT_PROVISIONING: 'acl',
      DATABASE_URL: 'mysql://x',
    });
    expect(r.ok).toBe(false);
    const names = r.ok ? [] : r.problems.map((p) => p.split(':')[0]);
    expect(names.sort()).toEqual(['DATABASE_URL', 'MQTT_PROVISIONING', 'MQTT_URL', 'PORT']);
  });

  it('treats empty strings as unset', () => {
    const r = parseEnv({ DATABASE_URL: '', MQTT_URL: ' ', SIPWALL_ADMIN_PASSWORD: '' });
    expect(r.ok).toBe(true);
  });

  it('reads the metrics token, refusing a short one', () => {
    const r = parseEnv({ SIPWALL_METRICS_TOKEN: 'a-long-enough-scrape-token' });
    expect(r.ok && r.env.SIPWALL_METRICS_TOKEN).toBe('a-long-enough-scrape-token');
    expect(parseEnv({ SIPWALL_METRICS_TOKEN: '' }).ok && parseEnv({}).ok).toBe(true);
    const bad = parseEnv({ SIPWALL_METRICS_TOKEN: 'short' });
    expect(bad.ok ? [] : bad.problems).toEqual(['SIPWALL_METRICS_TOKEN: must be at least 16 characters']);
  });

  it('reads the hardening settings', () => {
    const r = parseEnv({
      SIPWALL_PUBLIC_URL: 'https://fw.example.com',
      SIPWALL_TRUSTED_PROXIES: '10.0.0.0/8, loopback',
      SIPWALL_MAX_BODY_BYTES: '65536',
    });
    expect(r.ok && r.env).toMatchObject({
      SIPWALL_PUBLIC_URL: 'https://fw.example.com',
      SIPWALL_TRUSTED_PROXIES: ['10.0.0.0/8', 'loopback'],
      SIPWALL_MAX_BODY_BYTES: 65536,
    });
    const d = parseEnv({});
    expect(d.ok && d.env).toMatchObject({ SIPWALL_TRUSTED_PROXIES: [], SIPWALL_MAX_BODY_BYTES: 1024 * 1024 });
    const bad = parseEnv({
      SIPWALL_PUBLIC_URL: 'ftp://x',
      SIPWALL_TRUSTED_PROXIES: 'proxy.local',
      SIPWALL_MAX_BODY_BYTES: 'lots',
    });
    expect(bad.ok ? [] : bad.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'SIPWALL_MAX_BODY_BYTES',
      'SIPWALL_PUBLIC_URL',
      'SIPWALL_TRUSTED_PROXIES',
    ]);
  });
});
