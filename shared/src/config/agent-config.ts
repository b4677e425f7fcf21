import { z } from 'zod';
import { DigestAuthSchema } from './digest-auth.js';
import { PoliciesSchema } from './policies.js';
import { ProxySettingsSchema } from './proxy.js';
import { CidrSchema, DomainSchema, IpAddressSchema, PortOrZeroSchema, PortSchema } from './primitives.js';
import { SipUserSchema } from './sip-user.js';

export const SipTransportSchema = z.enum(['udp', 'tcp', 'tls']);
export type SipTransport = z.infer<typeof SipTransportSchema>;

/** One listening interface of the agent. `inside` faces the LAN phones, `outside` the Internet. */
export const SipInterfaceSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[a-z][a-z0-9_-]*$/, 'must be a lowercase identifier'),
    role: z.enum(['inside', 'outside']),
    address: IpAddressSchema,
    /** Address advertised to peers when the interface sits behind 1:1 NAT; defaults to `address`. */
    publicAddress: IpAddressSchema.optional(),
    /** 0 picks a free port (tests). */
    port: PortOrZeroSchema.default(5060),
    transports: z.array(SipTransportSchema).min(1).default(['udp', 'tcp']),
    /**
     * Networks reached through this interface (the proxy sends a request for an address in one of
     * them out of this interface). Default: the interface address's own subnet as the host reports
     * it; addresses in no interface's networks go out of the first `outside` interface.
     */
    networks: z.array(CidrSchema).default([]),
  })
  .strict();
export type SipInterface = z.infer<typeof SipInterfaceSchema>;

export const SipTimersSchema = z
  .object({
    t1Ms: z.number().int().min(50).max(10_000).default(500),
    t2Ms: z.number().int().min(500).max(60_000).default(4000),
    t4Ms: z.number().int().min(500).max(60_000).default(5000),
  })
  .strict()
  .refine((t) => t.t2Ms >= t.t1Ms, { message: 't2Ms must be at least t1Ms', path: ['t2Ms'] });

export const SipLimitsSchema = z
  .object({
    maxMessageBytes: z.number().int().min(1024).max(1_048_576).default(65_535),
    maxHeaderBytes: z.number().int().min(512).max(262_144).default(16_384),
    maxConnectionsPerSource: z.number().int().min(1).max(10_000).default(32),
    maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
    idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
    /**
     * TCP/TLS: once the first bytes of a message have arrived, the whole message must arrive
     * within this many ms or the connection is closed (a peer dripping one byte a second would
     * otherwise hold its slot for hours under the 16 KB header limit).
     */
    messageTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
    /**
     * TCP/TLS: an accepted connection that has not completed one valid SIP message within this
     * many ms is closed (CRLF pings do not count); also the TLS handshake timeout. When
     * `maxConnections` is reached, a new connection evicts the oldest such connection instead
     * of being refused; connections that sent a valid message are never evicted.
     */
    firstMessageTimeoutMs: z.number().int().min(1000).max(3_600_000).default(20_000),
    /**
     * Refused, evicted and timed-out connections and framing violations: the first is logged at
     * once, the rest as one summary line per this many ms (a flood logs a line per interval).
     */
    connectionLogIntervalMs: z.number().int().min(1000).max(3_600_000).default(10_000),
    /** Past this many live server transactions new requests get 503 + Retry-After. */
    maxPendingTransactions: z.number().int().min(10).max(10_000_000).default(50_000),
    retryAfterSec: z.number().int().min(1).max(3600).default(5),
    /**
     * UDP socket receive and send buffer (SO_RCVBUF/SO_SNDBUF), bytes. The default 4 MiB holds
     * ~5,000 REGISTERs, so a burst or a GC pause does not drop datagrams (the kernel default,
     * ~208 KiB, overflows within 20 ms at 10,000 messages/s). The kernel caps it at
     * net.core.rmem_max / wmem_max; the agent warns when it got less.
     */
    udpSocketBufferBytes: z.number().int().min(65_536).max(268_435_456).default(4_194_304),
  })
  .strict();

export const RegistrarSettingsSchema = z
  .object({
    mode: z.enum(['main', 'passive']).default('main'),
    minExpiresSec: z.number().int().min(1).max(86_400).default(60),
    maxExpiresSec: z.number().int().min(1).max(604_800).default(3600),
    defaultExpiresSec: z.number().int().min(1).max(604_800).default(3600),
    /** Far-end NAT keep-alive: OPTIONS through a NATed binding's flow every this many seconds. */
    keepAliveIntervalSec: z.number().int().min(5).max(3600).default(25),
    /** Unanswered keep-alive pings in a row after which the binding is dropped. */
    keepAliveMaxFailures: z.number().int().min(1).max(20).default(3),
    /** Passive mode: where REGISTERs are relayed to (`host[:port]`). */
    upstream: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => r.minExpiresSec <= r.maxExpiresSec, {
    message: 'minExpiresSec must not exceed maxExpiresSec',
    path: ['minExpiresSec'],
  });

export const TlsFilesSchema = z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict();

const OUTBOX_MIN_BYTES = 1024 * 1024;
const OUTBOX_MAX_BYTES = 64 * 1024 ** 3;
/** The telemetry outbox's default disk quota (64 MiB). */
export const OUTBOX_DEFAULT_BYTES = 64 * 1024 * 1024;

export const ControlPlaneLinkSchema = z
  .object({
    /** Base HTTP URL of the control plane, used once to trade the enrollment token for MQTT credentials. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** One-time enrollment token; ignored once credentials are stored in `stateDir`. */
    enrollmentToken: z.string().min(16).max(256).optional(),
    /** Overrides the broker URL the control plane hands out. */
    mqttUrl: z.url({ protocol: /^mqtts?$/, error: 'must be an mqtt(s) URL' }).optional(),
    /**
     * Enroll over plain `http://` with a control plane that is not on loopback. Off by default:
     * the enrollment token and the MQTT password it returns would cross the network in clear.
     */
    allowInsecureHttp: z.boolean().optional(),
    /** The durable telemetry outbox in `stateDir/outbox` (records wait there while the broker is away). */
    outbox: z
      .object({
        /** Disk quota in bytes; records past it are dropped and counted. */
        maxBytes: z
          .number()
          .int()
          .min(OUTBOX_MIN_BYTES, { error: `must be at least ${OUTBOX_MIN_BYTES} bytes (1 MiB)` })
          .max(OUTBOX_MAX_BYTES, { error: `must be at most ${OUTBOX_MAX_BYTES} bytes (64 GiB)` })
          .default(OUTBOX_DEFAULT_BYTES),
      })
      .strict()
      .default({ maxBytes: OUTBOX_DEFAULT_BYTES }),
  })
  .strict();

/** The agent's configuration file (YAML), validated at start and by `--check-config`. */
/** Whether an IP address literal is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(a);
}

export const AgentConfigSchema = z
  .object({
    site: z.string().min(1).max(128).default('standalone'),
    /** Directory for durable state (credentials, bindings, outbox). */
    stateDir: z.string().min(1).default('./agent-state'),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    sip: z
      .object({
        domains: z.array(DomainSchema).min(1),
        interfaces: z.array(SipInterfaceSchema).min(1),
        tls: TlsFilesSchema.optional(),
        timers: SipTimersSchema.default({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }),
        limits: SipLimitsSchema.default({
          maxMessageBytes: 65_535,
          maxHeaderBytes: 16_384,
          maxConnectionsPerSource: 32,
          maxConnections: 10_000,
          idleTimeoutMs: 120_000,
          messageTimeoutMs: 30_000,
          firstMessageTimeoutMs: 20_000,
          connectionLogIntervalMs: 10_000,
          maxPendingTransactions: 50_000,
          retryAfterSec: 5,
          udpSocketBufferBytes: 4_194_304,
        }),
        registrar: RegistrarSettingsSchema.default({
          mode: 'main',
          minExpiresSec: 60,
          maxExpiresSec: 3600,
          defaultExpiresSec: 3600,
          keepAliveIntervalSec: 25,
          keepAliveMaxFailures: 3,
        }),
        auth: DigestAuthSchema.default({ algorithms: ['MD5'], domainAlgorithms: {} }),
        proxy: ProxySettingsSchema.default(ProxySettingsSchema.parse({})),
      })
      .strict()
      .refine((s) => new Set(s.interfaces.map((i) => i.name)).size === s.interfaces.length, {
        message: 'interface names must be unique',
        path: ['interfaces'],
      })
      .refine((s) => !s.interfaces.some((i) => i.transports.includes('tls')) || s.tls !== undefined, {
        message: 'an interface uses tls, so sip.tls (certFile, keyFile) is required',
        path: ['tls'],
      }),
    /**
     * The local admin API (`/healthz`, `/metrics`, `/registrations`, `/calls`, `/sessions`). It
     * answers only `Host` names that cannot be DNS-rebound (its address, loopback, `localhost`).
     */
    admin: z
      .object({
        address: IpAddressSchema.default('127.0.0.1'),
        port: PortOrZeroSchema.default(9090),
        /**
         * Bearer token required on every request (`Authorization: Bearer <token>`) when set.
         * Required (this or `tokenFile`) when `address` is not a loopback address.
         */
        token: z.string().min(16).max(512).optional(),
        /** File holding the token (first line; at least 16 characters), instead of `token`. */
        tokenFile: z.string().min(1).optional(),
      })
      .strict()
      .refine((a) => a.token === undefined || a.tokenFile === undefined, {
        message: 'set admin.token or admin.tokenFile, not both',
        path: ['tokenFile'],
      })
      .refine((a) => isLoopbackAddress(a.address) || a.token !== undefined || a.tokenFile !== undefined, {
        message:
          'required when admin.address is not a loopback address: set admin.token (16+ characters) or admin.tokenFile, or bind admin.address to 127.0.0.1',
        path: ['token'],
      })
      .default({ address: '127.0.0.1', port: 9090 }),
    media: z
      .object({
        /**
         * `nftables`: kernel pinholes (media never enters user space; needs CAP_NET_ADMIN and the
         * nftables-napi addon, else the agent says so and uses the relay); `relay`: user-space UDP
         * relay; `none`: media is not anchored, SDP passes unchanged (for sites whose media is
         * handled by another element; inside addresses in SDP then reach the outside).
         */
        driver: z.enum(['relay', 'nftables', 'none']).default('relay'),
        portMin: PortSchema.default(20_000),
        portMax: PortSchema.default(29_999),
        /**
         * A released port pair is not handed out again for this long, so late media of the last
         * call is not latched by the next. Pairs needed = calls/s × this: shorten it (or widen the
         * range) for thousands of calls per second.
         */
        portQuarantineSec: z.number().int().min(0).max(600).default(32),
        /**
         * When the callee's early media may flow. `answer`: pinholes open once the answer (an 18x
         * with SDP, or the 2xx) is known. `offer`: at the offer already, the callee → caller
         * direction opens towards the caller's SDP address (early media sent before any answer
         * reaches the agent is forwarded); the other direction waits for the answer.
         */
        earlyMedia: z
          .enum(['answer', 'offer'], {
            error: (issue) => `must be "answer" or "offer" (got ${JSON.stringify(issue.input)})`,
          })
          .default('answer'),
      })
      .strict()
      .refine((m) => m.portMin < m.portMax, { message: 'portMin must be below portMax', path: ['portMin'] })
      .default({
        driver: 'relay',
        portMin: 20_000,
        portMax: 29_999,
        portQuarantineSec: 32,
        earlyMedia: 'answer',
      }),
    users: z.array(SipUserSchema).default([]),
    policies: PoliciesSchema.default(PoliciesSchema.parse({})),
    controlPlane: ControlPlaneLinkSchema.optional(),
  })
  .strict();
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
