/**
 * Transparent mode: the redirect plan and nft script (pure), the driver's order of operations and
 * its one-line failures (with a fake `NftRun`), and `nftCli` against stand-in `nft` commands.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema, type AgentConfigInput } from '@sipwall/shared';
import { afterAll, describe, expect, it } from 'vitest';
import type { SipListening } from '../../src/core/sip-stack.js';
import {
  applyScript,
  createTransparentMode,
  deviceHolding,
  type NftOutcome,
  nftCli,
  planRedirect,
  type RedirectPlan,
  removeScript,
} from '../../src/proxy/transparent.js';

type Transparent = NonNullable<NonNullable<AgentConfigInput['sip']['proxy']>['transparent']>;

function config(transparent?: Transparent, insideAddress = '192.168.77.1') {
  return AgentConfigSchema.parse({
    sip: {
      domains: ['example.test'],
      interfaces: [
        { name: 'wan', role: 'outside', address: '203.0.113.1' },
        { name: 'lan', role: 'inside', address: insideAddress },
      ],
      proxy: transparent === undefined ? {} : { transparent },
    },
  });
}

const LISTENING: SipListening[] = [
  { interface: 'wan', role: 'outside', transport: 'udp', address: '203.0.113.1', port: 5060 },
  { interface: 'lan', role: 'inside', transport: 'udp', address: '192.168.77.1', port: 5060 },
  { interface: 'lan', role: 'inside', transport: 'tcp', address: '192.168.77.1', port: 5062 },
];

const HOST = {
  lo: [{ address: '127.0.0.1' }],
  eth0: [{ address: '203.0.113.1' }],
  eth1: [{ address: '192.168.77.1' }, { address: 'fe80::1' }],
};

const PLAN: RedirectPlan = {
  device: 'eth1',
  ports: [5060],
  targets: [
    { protocol: 'udp', address: '192.168.77.1', port: 5060 },
    { protocol: 'tcp', address: '192.168.77.1', port: 5062 },
  ],
};

describe('planRedirect', () => {
  it('is off by default (and the config default is backward compatible)', () => {
    const c = config();
    expect(c.sip.proxy.transparent).toEqual({ enabled: false, ports: [5060] });
    expect(planRedirect(c, LISTENING, HOST)).toEqual({ kind: 'off' });
  });

  it('targets the first inside interface’s bound UDP and TCP ports, on the device holding its address', () => {
    expect(planRedirect(config({ enabled: true }), LISTENING, HOST)).toEqual({ kind: 'on', plan: PLAN });
  });

  it('takes insideDevice over the derived device, and de-duplicates and sorts the ports', () => {
    const d = planRedirect(
      config({ enabled: true, insideDevice: 'br-lan', ports: [5080, 5060, 5080] }),
      LISTENING,
      HOST,
    );
    expect(d).toEqual({ kind: 'on', plan: { ...PLAN, device: 'br-lan', ports: [5060, 5080] } });
  });

  it('leaves out a transport the inside interface does not listen on (TLS is never redirected)', () => {
    const listening = LISTENING.filter((l) => l.transport !== 'tcp').concat({
      interface: 'lan',
      role: 'inside',
      transport: 'tls',
      address: '192.168.77.1',
      port: 5061,
    });
    const d = planRedirect(config({ enabled: true }), listening, HOST);
    expect(d.kind === 'on' && d.plan.targets).toEqual([PLAN.targets[0]]);
  });

  it('says why it cannot build a plan', () => {
    const noDevice = planRedirect(config({ enabled: true }, '192.168.9.1'), LISTENING, HOST);
    expect(noDevice).toEqual({
      kind: 'invalid',
      reason: 'no host interface holds 192.168.9.1: set sip.proxy.transparent.insideDevice',
    });
    const noListener = planRedirect(config({ enabled: true }), LISTENING.slice(0, 1), HOST);
    expect(noListener).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('no UDP or TCP listener'),
    });
    const outsideOnly = AgentConfigSchema.parse({
      sip: {
        domains: ['example.test'],
        interfaces: [{ name: 'wan', role: 'outside', address: '203.0.113.1' }],
        proxy: { transparent: { enabled: true } },
      },
    });
    expect(planRedirect(outsideOnly, LISTENING, HOST)).toMatchObject({ kind: 'invalid' });
  });

  it('rejects an interface name that could break out of the nft script (schema and builder)', () => {
    expect(() => config({ enabled: true, insideDevice: 'eth1" accept' })).toThrow();
    expect(() => applyScript({ ...PLAN, device: 'eth1"; flush ruleset' })).toThrow(/bad interface name/);
  });

  it('finds the device by a normalized address and never for a wildcard', () => {
    expect(deviceHolding('FE80::1', HOST)).toBe('eth1');
    expect(deviceHolding('0.0.0.0', { any: [{ address: '0.0.0.0' }] })).toBeUndefined();
  });
});

describe('applyScript / removeScript', () => {
  it('recreates its own chain in one transaction: add-then-delete cannot fail, then chain and rules', () => {
    expect(applyScript(PLAN)).toBe(
      [
        'add table inet sipwall',
        'add chain inet sipwall sip_redirect',
        'delete chain inet sipwall sip_redirect',
        'add chain inet sipwall sip_redirect { type nat hook prerouting priority dstnat; policy accept; }',
        'add rule inet sipwall sip_redirect iifname "eth1" udp dport { 5060 } ip daddr != 192.168.77.1 counter dnat ip to 192.168.77.1:5060 comment "sipwall transparent mode"',
        'add rule inet sipwall sip_redirect iifname "eth1" tcp dport { 5060 } ip daddr != 192.168.77.1 counter dnat ip to 192.168.77.1:5062 comment "sipwall transparent mode"',
        '',
      ].join('\n'),
    );
  });

  it('removes only its chain, present or not; never the table, never another table', () => {
    expect(removeScript()).toBe(
      'add table inet sipwall\nadd chain inet sipwall sip_redirect\ndelete chain inet sipwall sip_redirect\n',
    );
    for (const script of [applyScript(PLAN), removeScript()]) {
      expect(script).not.toMatch(/flush|delete table|destroy/);
      const tables = script
        .match(/(table|chain|rule) (\S+ \S+)/g)
        ?.map((m) => m.split(' ').slice(1).join(' '));
      expect(new Set(tables)).toEqual(new Set(['inet sipwall']));
    }
  });

  it('uses dnat ip6 for an IPv6 listener and redirect for a wildcard one', () => {
    const v6 = applyScript({
      ...PLAN,
      ports: [5060, 5080],
      targets: [{ protocol: 'udp', address: 'fd00::1', port: 5060 }],
    });
    expect(v6).toContain(
      'iifname "eth1" udp dport { 5060, 5080 } ip6 daddr != fd00::1 counter dnat ip6 to [fd00::1]:5060 comment',
    );
    const any = applyScript({ ...PLAN, targets: [{ protocol: 'tcp', address: '0.0.0.0', port: 5070 }] });
    expect(any).toContain(
      'iifname "eth1" tcp dport { 5060 } meta nfproto ipv4 counter redirect to :5070 comment',
    );
  });
});

function fakeNft(outcomes: NftOutcome[] = []) {
  const scripts: string[] = [];
  const warns: Array<[object, string]> = [];
  const infos: string[] = [];
  const mode = createTransparentMode({
    run: async (s) => {
      scripts.push(s);
      return outcomes.shift() ?? { ok: true };
    },
    logger: {
      warn: ((o: object, m: string) => warns.push([o, m])) as never,
      info: ((_o: object, m: string) => infos.push(m)) as never,
    },
    hostInterfaces: () => HOST,
  });
  return { mode, scripts, warns, infos };
}

describe('createTransparentMode', () => {
  it('applies at start, skips an unchanged plan, replaces a changed one, removes at stop', async () => {
    const { mode, scripts } = fakeNft();
    await mode.apply(config({ enabled: true }), LISTENING);
    expect(scripts).toEqual([applyScript(PLAN)]);
    expect(mode.active).toEqual(PLAN);
    await mode.apply(config({ enabled: true }), LISTENING);
    expect(scripts).toHaveLength(1);
    await mode.apply(config({ enabled: true, ports: [5060, 5080] }), LISTENING);
    expect(scripts[1]).toContain('dport { 5060, 5080 }');
    await mode.stop();
    expect(scripts[2]).toBe(removeScript());
    expect(mode.active).toBeUndefined();
    await mode.apply(config({ enabled: true }), LISTENING);
    expect(scripts).toHaveLength(3);
  });

  it('never runs nft when disabled, and removes the chain when a config change disables it', async () => {
    const { mode, scripts } = fakeNft();
    await mode.apply(config(), LISTENING);
    await mode.stop();
    expect(scripts).toEqual([]);
    const second = fakeNft();
    await second.mode.apply(config({ enabled: true }), LISTENING);
    await second.mode.apply(config({ enabled: false }), LISTENING);
    expect(second.scripts).toEqual([applyScript(PLAN), removeScript()]);
    await second.mode.stop();
    expect(second.scripts).toHaveLength(2);
  });

  it('a missing nft or missing privilege is one warn line; the agent goes on without the redirect', async () => {
    const { mode, warns } = fakeNft([
      { ok: false, reason: 'missing', detail: 'nft: spawn nft ENOENT' },
      { ok: false, reason: 'missing', detail: 'nft: spawn nft ENOENT' },
      { ok: false, reason: 'denied', detail: 'Operation not permitted' },
    ]);
    await mode.apply(config({ enabled: true }), LISTENING);
    await mode.apply(config({ enabled: true }), LISTENING);
    expect(warns).toEqual([
      [
        { reason: 'missing', detail: 'nft: spawn nft ENOENT' },
        'transparent mode off: the nft command is not installed (nftables)',
      ],
    ]);
    await mode.apply(config({ enabled: true }), LISTENING);
    expect(warns[1]?.[1]).toBe(
      'transparent mode off: no privilege for nftables (needs root or CAP_NET_ADMIN)',
    );
    expect(mode.active).toBeUndefined();
    await mode.stop();
  });

  it('an impossible plan is a warn line too, and nft is not run', async () => {
    const { mode, scripts, warns } = fakeNft();
    await mode.apply(config({ enabled: true }, '192.168.9.1'), LISTENING);
    expect(scripts).toEqual([]);
    expect(warns[0]?.[1]).toBe('transparent mode off: cannot build the redirect');
  });

  it('runs one operation at a time: a stop during an apply removes what that apply added', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const mode = createTransparentMode({
      run: async (s) => {
        order.push(s === removeScript() ? 'remove' : 'apply');
        if (order.length === 1) await new Promise<void>((r) => (release = r));
        return { ok: true };
      },
      logger: { warn: (() => {}) as never, info: (() => {}) as never },
      hostInterfaces: () => HOST,
    });
    const a = mode.apply(config({ enabled: true }), LISTENING);
    for (let i = 0; i < 50 && order.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const b = mode.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['apply']);
    release();
    await Promise.all([a, b]);
    expect(order).toEqual(['apply', 'remove']);
    expect(mode.active).toBeUndefined();
  });

  it('an apply still queued when stop comes is dropped', async () => {
    const { mode, scripts } = fakeNft();
    const a = mode.apply(config({ enabled: true }), LISTENING);
    await Promise.all([a, mode.stop()]);
    expect(scripts).toEqual([]);
  });
});

describe('nftCli', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipwall-nft-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in `nft` that saves its stdin and arguments, prints `stderr` and exits `code`. */
  function standIn(name: string, code: number, stderr = ''): string {
    const path = join(dir, name);
    writeFileSync(
      path,
      `#!/bin/sh\necho "$@" > "${path}.args"\ncat > "${path}.stdin"\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`,
    );
    chmodSync(path, 0o755);
    return path;
  }

  it('passes the script on stdin to `nft -f -`', async () => {
    const bin = standIn('ok', 0);
    await expect(nftCli({ binary: bin })(removeScript())).resolves.toEqual({ ok: true });
    expect(readFileSync(`${bin}.args`, 'utf8')).toBe('-f -\n');
    expect(readFileSync(`${bin}.stdin`, 'utf8')).toBe(removeScript());
  });

  it('tells a missing binary, a missing privilege and a refused script apart', async () => {
    await expect(nftCli({ binary: join(dir, 'absent') })('')).resolves.toMatchObject({
      ok: false,
      reason: 'missing',
    });
    const denied = standIn(
      'denied',
      1,
      'netlink: Error: cache initialization failed: Operation not permitted',
    );
    await expect(nftCli({ binary: denied })(removeScript())).resolves.toEqual({
      ok: false,
      reason: 'denied',
      detail: 'netlink: Error: cache initialization failed: Operation not permitted',
    });
    const refused = standIn('refused', 1, 'Error: syntax error');
    await expect(nftCli({ binary: refused })(removeScript())).resolves.toMatchObject({
      ok: false,
      reason: 'failed',
      detail: 'Error: syntax error',
    });
  });

  it('kills an nft that hangs', async () => {
    const path = join(dir, 'hang');
    writeFileSync(path, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(path, 0o755);
    await expect(nftCli({ binary: path, timeoutMs: 200 })('')).resolves.toMatchObject({
      ok: false,
      reason: 'timeout',
    });
  });
});
