import { readFile } from 'node:fs/promises';
import type { AgentConfig } from '@sipwall/shared';
import type { Logger } from 'pino';
import { CoreUser } from './core/core-user.js';
import type { Myself } from './core/myself.js';
import { RequestHandlerRegistry } from './core/request-handlers.js';
import type { SipListening, SipStack } from './core/sip-stack.js';
import { createCryptoIds } from './transaction/ids.js';
import { TransactionLayer } from './transaction/transaction-layer.js';
import { createTransportCounters } from './transport/counters.js';
import { StreamTransportListener } from './transport/stream-transport.js';
import { TransportLayer } from './transport/transport-layer.js';
import type { SipTraceSink } from './trace/call-trace.js';
import type { Transport } from './transport/types.js';
import { UdpTransport } from './transport/udp-transport.js';
import type { Clock } from './util/clock.js';

export type { SipListening, SipStack } from './core/sip-stack.js';

export interface SipService {
  readonly listening: readonly SipListening[];
  /** Counters for `/metrics` (plain numbers, read at scrape time). */
  readonly metrics?: () => Record<string, number>;
  /**
   * Follows a config change: the domains and addresses that mean "this agent". Listeners, TLS
   * files, timers and limits are fixed at start (the desired-state decision refuses a change).
   */
  reconfigure(config: AgentConfig): void;
  stop(): Promise<void>;
}

export interface SipServiceDeps {
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
  /**
   * Plugs TU modules in (the registrar registers its REGISTER handler). Called once, before any
   * listener binds; `stack.sendRequest` works once `startSipService` has resolved.
   */
  setup?: (stack: SipStack) => void;
  /** The agent's "myself" test with its bound ports (the registrar's); default: domains and addresses. */
  myself?: () => Myself;
  /** The per-call SIP trace (`trace/call-trace.ts`) the transport layer feeds; none when absent. */
  trace?: SipTraceSink;
}

type SipInterface = AgentConfig['sip']['interfaces'][number];

/** The SIP domains and interface addresses (and advertised ones) that name this agent. */
function localHostsOf(config: AgentConfig): string[] {
  return [
    ...config.sip.domains,
    ...config.sip.interfaces.flatMap((i) => (i.publicAddress ? [i.address, i.publicAddress] : [i.address])),
  ];
}

/** With port 0, the first transport of an interface picks a port and the others try to share it. */
const SHARED_PORT_ATTEMPTS = 5;

/**
 * Starts the SIP side of the agent: listeners for every configured interface and transport →
 * transport layer → transaction layer → core TU (OPTIONS, CANCEL, refusals; the registrar and
 * proxy will register handlers on its `RequestHandlerRegistry`).
 */
export async function startSipService(deps: SipServiceDeps): Promise<SipService> {
  const { config, clock } = deps;
  const logger = deps.logger;
  const sip = config.sip;
  const localHosts = localHostsOf(config);
  const counters = createTransportCounters();
  const handlers = new RequestHandlerRegistry();
  const ids = createCryptoIds();
  const core = new CoreUser(
    { localHosts, ...(deps.myself === undefined ? {} : { myself: deps.myself }) },
    { handlers, ids, logger },
  );
  const transactions = new TransactionLayer(
    {
      timers: sip.timers,
      maxPendingTransactions: sip.limits.maxPendingTransactions,
      retryAfterSec: sip.limits.retryAfterSec,
    },
    { clock, logger, user: core, ids },
  );
  const transportLayer = new TransportLayer(
    { maxMessageBytes: sip.limits.maxMessageBytes, maxHeaderBytes: sip.limits.maxHeaderBytes, localHosts },
    { upper: transactions, counters, logger, ...(deps.trace === undefined ? {} : { trace: deps.trace }) },
  );
  let listening: SipListening[] = [];
  deps.setup?.({
    handlers,
    ids,
    drop: (tx) => transactions.drop(tx),
    sendRequest(request, target, user) {
      const prepared = transportLayer.prepareRequest(request, target);
      transactions.sendRequest(prepared.request, prepared.channel, user);
    },
    sendStateless: (request, target) => transportLayer.sendStateless(request, target),
    forwardResponse: (response, interfaceName) => transportLayer.forwardResponse(response, interfaceName),
    listening: () => listening,
  });
  const tls =
    sip.tls === undefined
      ? undefined
      : { cert: await readFile(sip.tls.certFile), key: await readFile(sip.tls.keyFile) };

  const transports: Transport[] = [];
  try {
    for (const iface of sip.interfaces) {
      transports.push(...(await listenInterface(iface)));
    }
  } catch (e) {
    await Promise.allSettled(transports.map((t) => t.close()));
    throw e;
  }
  for (const t of transports) transportLayer.addTransport(t);

  const roles = new Map(sip.interfaces.map((i) => [i.name, i.role] as const));
  listening = transports.map((t) => ({
    interface: t.interfaceName,
    role: roles.get(t.interfaceName) ?? 'inside',
    transport: t.protocol,
    address: t.local.address,
    port: t.local.port,
  }));
  logger.info({ sip: listening }, 'SIP listening');

  async function listenInterface(iface: SipInterface): Promise<Transport[]> {
    for (let attempt = 1; ; attempt++) {
      const bound: Transport[] = [];
      let port = iface.port;
      try {
        for (const protocol of iface.transports) {
          const t = await listenOne(iface, protocol, port);
          bound.push(t);
          port = t.local.port;
        }
        return bound;
      } catch (e) {
        await Promise.allSettled(bound.map((t) => t.close()));
        const inUse = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (iface.port !== 0 || !inUse || attempt >= SHARED_PORT_ATTEMPTS) throw e;
      }
    }
  }

  function listenOne(iface: SipInterface, protocol: 'udp' | 'tcp' | 'tls', port: number): Promise<Transport> {
    const common = { interfaceName: iface.name, address: iface.address, port, counters, logger };
    if (protocol === 'udp') {
      return UdpTransport.listen({
        ...common,
        maxMessageBytes: sip.limits.maxMessageBytes,
        socketBufferBytes: sip.limits.udpSocketBufferBytes,
        sink: transportLayer,
      });
    }
    return StreamTransportListener.listen({
      ...common,
      protocol,
      limits: sip.limits,
      ...(protocol === 'tls' && tls !== undefined ? { tls } : {}),
      sink: transportLayer,
      clock,
    });
  }

  return {
    listening,
    reconfigure(next) {
      const hosts = localHostsOf(next);
      core.setLocalHosts(hosts);
      transportLayer.setLocalHosts(hosts);
    },
    metrics: () => ({
      ...counters,
      ...transactions.counters,
      serverTransactions: transactions.serverTransactionCount,
      clientTransactions: transactions.clientTransactionCount,
    }),
    async stop() {
      transactions.stop();
      await Promise.allSettled(transports.map((t) => t.close()));
      logger.info('SIP stopped');
    },
  };
}
