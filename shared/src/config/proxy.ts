import { z } from 'zod';

/** `host[:port]` or `[v6]:port`, optionally `;transport=udp|tcp` (an outbound proxy or DNS server). */
export const HostPortSchema = z
  .string()
  .min(1)
  .max(300)
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(;transport=(udp|tcp|tls))?$/,
    'must be host[:port][;transport=udp|tcp|tls]',
  );

/** The proxy core: how requests that are not REGISTER are routed across the firewall. */
export const ProxySettingsSchema = z
  .object({
    /** Every request for a foreign domain goes here (`host[:port][;transport=…]`); else RFC 3263. */
    outboundProxy: HostPortSchema.optional(),
    /** DNS servers for RFC 3263 lookups (`address[:port]`); empty = the system's resolvers. */
    dnsServers: z.array(z.string().min(1).max(64)).default([]),
    /**
     * Request methods forwarded statelessly (RFC 3261 §16.11): no server or client transaction,
     * no forking, no failover. Everything else is proxied statefully. INVITE is never stateless.
     */
    statelessMethods: z
      .array(z.enum(['OPTIONS', 'MESSAGE', 'NOTIFY', 'INFO', 'PUBLISH', 'SUBSCRIBE']))
      .default([]),
    /** How long an unanswered branch of an INVITE may ring before it is cancelled (Timer C, ≥ 3 min). */
    inviteTimeoutSec: z.number().int().min(30).max(3600).default(180),
    /**
     * Transparent mode: SIP to port 5060 that crosses the firewall (a LAN phone configured with an
     * outside proxy) is redirected into the agent by an nftables rule in table `inet sipwall`
     * (chain `sip_redirect`), towards the first `inside` interface's UDP and TCP listeners.
     */
    transparent: z
      .object({
        enabled: z.boolean().default(false),
        /**
         * The inside interface's kernel name (e.g. `eth1`), where the redirect rule matches.
         * Default: the host interface that holds the first `inside` interface's address.
         */
        insideDevice: z
          .string()
          .min(1)
          .max(15)
          .regex(/^[A-Za-z0-9_.@-]+$/, 'must be a network interface name')
          .optional(),
        /** Destination ports (UDP and TCP) that are redirected; TLS cannot be intercepted. */
        ports: z.array(z.number().int().min(1).max(65_535)).min(1).max(16).default([5060]),
      })
      .strict()
      .default({ enabled: false, ports: [5060] }),
  })
  .strict();
export type ProxySettings = z.infer<typeof ProxySettingsSchema>;

export const PROXY_DEFAULTS: ProxySettings = ProxySettingsSchema.parse({});
