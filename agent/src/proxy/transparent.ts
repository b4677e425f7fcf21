/**
 * Transparent mode (`sip.proxy.transparent`): SIP that a LAN phone sends to port 5060 of an outside
 * address (a phone configured with an outside proxy) is redirected into the agent's inside
 * listeners by one nftables chain, `sip_redirect` in the agent's own table `inet sipwall`. The
 * proxy then handles it like any request from the inside (a foreign Request-URI → outbound proxy
 * or RFC 3263 / the Request-URI's address), with NAT rewriting and topology hiding on the way out.
 *
 * Two parts: a pure plan and nft script builder (`planRedirect`, `applyScript`, `removeScript`),
 * and a thin driver (`createTransparentMode`) that runs the script through an injected `NftRun`
 * (`nftCli`: the `nft -f -` command, script on stdin). The driver touches only its own chain: the
 * table is created if missing (the media layer shares it) and never deleted, no other table is
 * ever named.
 */
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import type { SipListening } from '../core/sip-stack.js';
import { normalizeHost } from '../transport/via-stamp.js';

/** The agent's table (family and name), shared with the media layer's maps and chains. */
export const NFT_TABLE = 'inet sipwall';
/** The one chain transparent mode owns in {@link NFT_TABLE}. */
export const REDIRECT_CHAIN = 'sip_redirect';
/** Put on every rule, so `nft list table inet sipwall` says where a rule comes from. */
const RULE_COMMENT = 'sipwall transparent mode';
/** `nft list chain` then shows how many connections were redirected (a nat chain sees each one's first packet). */
const COUNTER = 'counter';
/** A kernel interface name that is safe to quote in an nft script (IFNAMSIZ − 1 characters). */
const DEVICE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** One listener the redirected traffic goes to. */
export interface RedirectTarget {
  readonly protocol: 'udp' | 'tcp';
  /** The listener's bound address; a wildcard (`0.0.0.0`, `::`) becomes an nft `redirect`. */
  readonly address: string;
  readonly port: number;
}

/** What the `sip_redirect` chain says: traffic into `device` for `ports` goes to `targets`. */
export interface RedirectPlan {
  readonly device: string;
  readonly ports: readonly number[];
  readonly targets: readonly RedirectTarget[];
}

export type PlanDecision =
  | { readonly kind: 'off' }
  | { readonly kind: 'on'; readonly plan: RedirectPlan }
  /** Enabled, but it cannot be built from this config and these listeners (said once, in a log line). */
  | { readonly kind: 'invalid'; readonly reason: string };

/** `os.networkInterfaces()`' shape, reduced to what is read. */
export type HostInterfaces = Readonly<
  Record<string, ReadonlyArray<{ readonly address: string }> | undefined>
>;

/**
 * The redirect plan (pure). The target is the first `inside` interface of `sip.interfaces`: its
 * bound UDP and TCP listeners (TLS cannot be intercepted). The device is `insideDevice`, else the
 * host interface that holds that interface's address.
 */
export function planRedirect(
  config: AgentConfig,
  listening: readonly SipListening[],
  host: HostInterfaces,
): PlanDecision {
  const t = config.sip.proxy.transparent;
  if (!t.enabled) return { kind: 'off' };
  const inside = config.sip.interfaces.find((i) => i.role === 'inside');
  if (inside === undefined) return invalid('no inside interface in sip.interfaces');
  const targets: RedirectTarget[] = [];
  for (const protocol of ['udp', 'tcp'] as const) {
    const l = listening.find((x) => x.interface === inside.name && x.transport === protocol);
    if (l !== undefined) targets.push({ protocol, address: normalizeHost(l.address), port: l.port });
  }
  if (targets.length === 0) return invalid(`inside interface ${inside.name} has no UDP or TCP listener`);
  const device = t.insideDevice ?? deviceHolding(inside.address, host);
  if (device === undefined)
    return invalid(`no host interface holds ${inside.address}: set sip.proxy.transparent.insideDevice`);
  if (!DEVICE_NAME.test(device)) return invalid(`bad interface name ${JSON.stringify(device)}`);
  return { kind: 'on', plan: { device, ports: [...new Set(t.ports)].sort((a, b) => a - b), targets } };
}

function invalid(reason: string): PlanDecision {
  return { kind: 'invalid', reason };
}

/** The name of the host interface that has `address` (none for a wildcard address). */
export function deviceHolding(address: string, host: HostInterfaces): string | undefined {
  const want = normalizeHost(address);
  if (isWildcard(want)) return undefined;
  for (const [name, list] of Object.entries(host)) {
    if (list?.some((a) => normalizeHost(a.address) === want)) return name;
  }
  return undefined;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `add chain` of the redirect chain with its hook: DNAT happens at prerouting, priority dstnat. */
const CHAIN_SPEC = `{ type nat hook prerouting priority dstnat; policy accept; }`;

/**
 * One `nft -f` transaction that (re)creates the chain: the table is added (a no-op when it
 * exists), the chain added and deleted (so the delete cannot fail, whatever a crashed run left),
 * then created afresh with its rules. Running it twice leaves one copy of each rule.
 */
export function applyScript(plan: RedirectPlan): string {
  const lines = [...removeLines(), `add chain ${NFT_TABLE} ${REDIRECT_CHAIN} ${CHAIN_SPEC}`];
  for (const target of plan.targets)
    lines.push(`add rule ${NFT_TABLE} ${REDIRECT_CHAIN} ${ruleFor(plan, target)}`);
  return `${lines.join('\n')}\n`;
}

/** One `nft -f` transaction that removes the chain (and only it), present or not. */
export function removeScript(): string {
  return `${removeLines().join('\n')}\n`;
}

function removeLines(): string[] {
  return [
    `add table ${NFT_TABLE}`,
    // Without a hook spec: adds a plain chain when absent, leaves an existing base chain alone.
    `add chain ${NFT_TABLE} ${REDIRECT_CHAIN}`,
    `delete chain ${NFT_TABLE} ${REDIRECT_CHAIN}`,
  ];
}

/**
 * `iifname "<dev>" <proto> dport { ports } ip daddr != <addr> dnat ip to <addr>:<port>`: traffic
 * already addressed to the agent is left alone; the rest goes to the bound listener itself (a
 * `dnat` to the exact address, as `redirect` would pick the device's primary address). A wildcard
 * listener gets `redirect to :<port>`. Only new connections pass a nat chain, so flows that exist
 * when the chain appears keep their path until conntrack forgets them.
 */
function ruleFor(plan: RedirectPlan, target: RedirectTarget): string {
  if (!DEVICE_NAME.test(plan.device)) throw new Error(`bad interface name ${plan.device}`);
  const ports = plan.ports.map((p) => String(Math.trunc(p))).join(', ');
  const match = `iifname "${plan.device}" ${target.protocol} dport { ${ports} }`;
  const family = isIP(target.address);
  const port = Math.trunc(target.port);
  let rest: string;
  if (isWildcard(target.address) || family === 0) {
    rest = `meta nfproto ${target.address === '::' ? 'ipv6' : 'ipv4'} ${COUNTER} redirect to :${port}`;
  } else if (family === 6) {
    rest = `ip6 daddr != ${target.address} ${COUNTER} dnat ip6 to [${target.address}]:${port}`;
  } else {
    rest = `ip daddr != ${target.address} ${COUNTER} dnat ip to ${target.address}:${port}`;
  }
  return `${match} ${rest} comment "${RULE_COMMENT}"`;
}

// ---- the I/O driver ---------------------------------------------------------------------------

export type NftFailure = 'missing' | 'denied' | 'timeout' | 'failed';
export type NftOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: NftFailure; readonly detail: string };
/** Runs one nft script as one transaction. */
export type NftRun = (script: string) => Promise<NftOutcome>;

export interface NftCliOptions {
  /** Default `nft` (looked up in PATH). */
  readonly binary?: string;
  /** The command is killed past this. Default 3000 ms. */
  readonly timeoutMs?: number;
}

const MAX_STDERR = 4096;

/** {@link NftRun} through the nft command line: `nft -f -`, the script on stdin. */
export function nftCli(opts: NftCliOptions = {}): NftRun {
  const binary = opts.binary ?? 'nft';
  const timeoutMs = opts.timeoutMs ?? 3000;
  return (script) =>
    new Promise<NftOutcome>((resolve) => {
      let settled = false;
      let stderr = '';
      const done = (o: NftOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(o);
      };
      const child = spawn(binary, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ ok: false, reason: 'timeout', detail: `${binary} gave no answer in ${timeoutMs} ms` });
      }, timeoutMs);
      child.on('error', (e: NodeJS.ErrnoException) => {
        const reason: NftFailure =
          e.code === 'ENOENT' ? 'missing' : e.code === 'EACCES' ? 'denied' : 'failed';
        done({ ok: false, reason, detail: `${binary}: ${e.message}` });
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < MAX_STDERR) stderr += d;
      });
      child.on('close', (code, signal) => {
        if (code === 0) return done({ ok: true });
        const detail = firstLines(stderr) || `${binary} exited ${code ?? signal}`;
        const denied = /operation not permitted|permission denied/i.test(stderr);
        done({ ok: false, reason: denied ? 'denied' : 'failed', detail });
      });
      child.stdin.on('error', () => {}); // EPIPE when nft is gone already: 'close' says why.
      child.stdin.end(script);
    });
}

function firstLines(text: string): string {
  return text.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 500);
}

/** What one failure means for a person reading the log. */
const FAILURE_TEXT: Record<NftFailure, string> = {
  missing: 'transparent mode off: the nft command is not installed (nftables)',
  denied: 'transparent mode off: no privilege for nftables (needs root or CAP_NET_ADMIN)',
  timeout: 'transparent mode off: nft did not answer',
  failed: 'transparent mode off: nft refused the redirect chain',
};

export interface TransparentModeDeps {
  readonly run: NftRun;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** `os.networkInterfaces()`, read at every apply. */
  readonly hostInterfaces: () => HostInterfaces;
}

export interface TransparentMode {
  /** Brings the chain in line with `config` (adds, replaces or removes it); never rejects. */
  apply(config: AgentConfig, listening: readonly SipListening[]): Promise<void>;
  /** Removes the chain if this agent put it there; later `apply` calls do nothing. Never rejects. */
  stop(): Promise<void>;
  /** The plan in the kernel now, if any. */
  readonly active: RedirectPlan | undefined;
}

/**
 * The driver: applies the plan at start and after config changes, removes the chain at stop.
 * Operations run one after the other. A failure (nft missing, no privilege, a refused script) is
 * one warn line and leaves the agent running without transparent mode.
 */
export function createTransparentMode(deps: TransparentModeDeps): TransparentMode {
  let active: RedirectPlan | undefined;
  let activeScript: string | undefined;
  let lastWarning: string | undefined;
  let stopped = false;
  let queue: Promise<void> = Promise.resolve();

  const warnOnce = (obj: object, msg: string) => {
    const key = `${msg} ${JSON.stringify(obj)}`;
    if (key === lastWarning) return;
    lastWarning = key;
    deps.logger.warn(obj, msg);
  };

  const remove = async (): Promise<void> => {
    if (active === undefined) return;
    const r = await deps.run(removeScript());
    if (r.ok) {
      deps.logger.info({ table: NFT_TABLE, chain: REDIRECT_CHAIN }, 'transparent mode off: redirect removed');
      active = undefined;
      activeScript = undefined;
    } else {
      deps.logger.warn(
        { reason: r.reason, detail: r.detail },
        'transparent mode: redirect chain not removed',
      );
    }
  };

  const applyNow = async (config: AgentConfig, listening: readonly SipListening[]): Promise<void> => {
    if (stopped) return;
    const decision = planRedirect(config, listening, deps.hostInterfaces());
    if (decision.kind === 'off') return remove();
    if (decision.kind === 'invalid') {
      warnOnce({ reason: decision.reason }, 'transparent mode off: cannot build the redirect');
      return remove();
    }
    const script = applyScript(decision.plan);
    if (script === activeScript) return;
    const r = await deps.run(script);
    if (!r.ok) {
      warnOnce({ reason: r.reason, detail: r.detail }, FAILURE_TEXT[r.reason]);
      return;
    }
    lastWarning = undefined;
    active = decision.plan;
    activeScript = script;
    deps.logger.info(
      {
        table: NFT_TABLE,
        chain: REDIRECT_CHAIN,
        device: decision.plan.device,
        ports: decision.plan.ports,
        targets: decision.plan.targets,
      },
      'transparent mode on: SIP crossing the firewall is redirected to the agent',
    );
  };

  const enqueue = (op: () => Promise<void>): Promise<void> => {
    queue = queue.then(op).catch((e: unknown) => deps.logger.warn({ err: e }, 'transparent mode failed'));
    return queue;
  };

  return {
    apply: (config, listening) => enqueue(() => applyNow(config, listening)),
    stop: () => {
      stopped = true;
      return enqueue(remove);
    },
    get active() {
      return active;
    },
  };
}
