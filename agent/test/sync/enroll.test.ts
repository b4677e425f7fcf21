import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema, type EnrollResponse } from '@sipwall/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlLinkError } from '../../src/sync/control-link-error.js';
import { enroll, isLoopbackHost } from '../../src/sync/enroll.js';
import { obtainCredentials } from '../../src/sync/obtain-credentials.js';
import { createSystemClock } from '../../src/util/clock.js';

const TOKEN = 'one-time-enrollment-token-0123456789';
const CREDENTIALS: EnrollResponse = {
  agentId: 'ag-abcdefghijkl',
  mqtt: {
    url: 'mqtts://mqtt.example.test:8883',
    clientId: 'ag-abcdefghijkl',
    username: 'ag-abcdefghijkl',
    password: 'p'.repeat(32),
  },
  topicPrefix: 'sipwall/v1/agents/ag-abcdefghijkl/',
};

/** A control plane stand-in on 127.0.0.1 that records the enrollment bodies it receives. */
let server: Server;
let port: number;
const received: string[] = [];

/**
 * fetch that dials our loopback server whatever host the URL names (as DNS pointing a name at it
 * would), recording the URLs it was asked for.
 */
const dialed: string[] = [];
const fetchViaLoopback: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  dialed.push(url.href);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return fetch(url, init);
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      received.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(CREDENTIALS));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const request = { token: TOKEN, agentVersion: 'test', hostname: 'fw' };

describe('enrollment transport', () => {
  it('refuses http:// to a control plane off loopback, naming the option (nothing sent); loopback, https and the opt-in pass', async () => {
    const before = received.length;
    const err = await enroll({
      baseUrl: 'http://cp.example.test:8080',
      request,
      fetch: fetchViaLoopback,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlLinkError);
    expect((err as ControlLinkError).code).toBe('AGENT_ERR_ENROLL_INSECURE');
    expect((err as ControlLinkError).retryable).toBe(false);
    expect((err as Error).message).toContain('controlPlane.allowInsecureHttp');
    expect((err as Error).message).toContain('http://cp.example.test:8080');
    expect(received.length).toBe(before);
    expect(dialed).not.toContain('http://cp.example.test:8080/api/enroll');

    // Loopback over http, https anywhere, and http off loopback when explicitly allowed still work.
    const sent = received.length;
    expect(await enroll({ baseUrl: `http://127.0.0.1:${port}`, request, fetch })).toEqual(CREDENTIALS);
    expect(await enroll({ baseUrl: `http://localhost:${port}`, request, fetch: fetchViaLoopback })).toEqual(
      CREDENTIALS,
    );
    expect(
      await enroll({
        baseUrl: 'http://cp.example.test:8080',
        request,
        fetch: fetchViaLoopback,
        allowInsecureHttp: true,
      }),
    ).toEqual(CREDENTIALS);
    expect(received.length - sent).toBe(3);
    expect(JSON.parse(received.at(-1)!)).toMatchObject({ token: TOKEN });
    // https is never refused by this check (our stand-in speaks http, so it fails later, retryably).
    const tls = await enroll({ baseUrl: 'https://cp.example.test', request, fetch: fetchViaLoopback }).catch(
      (e: unknown) => e,
    );
    expect((tls as ControlLinkError).code).toBe('AGENT_ERR_ENROLL_UNREACHABLE');
  });

  it('isLoopbackHost', () => {
    for (const h of ['localhost', 'agent.localhost', '127.0.0.1', '127.8.9.10', '[::1]', '[::ffff:7f00:1]'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['cp.example.test', '10.0.0.1', '128.0.0.1', '[::2]', 'localhost.example.test'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('the agent stops with the error instead of retrying; controlPlane.allowInsecureHttp is a config field', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'sipwall-enroll-'));
    try {
      const deps = {
        stateDir,
        controlPlaneUrl: 'http://cp.example.test',
        enrollmentToken: TOKEN,
        agentVersion: 'test',
        hostname: 'fw',
        fetch: fetchViaLoopback,
        clock: createSystemClock(),
        random: () => 0.5,
        logger: pino({ level: 'silent' }),
        backoff: { baseMs: 1, maxMs: 1 },
        signal: new AbortController().signal,
      };
      await expect(obtainCredentials(deps)).rejects.toMatchObject({ code: 'AGENT_ERR_ENROLL_INSECURE' });
      expect(await obtainCredentials({ ...deps, allowInsecureHttp: true })).toEqual(CREDENTIALS);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
    const link = AgentConfigSchema.shape.controlPlane.parse({
      url: 'http://cp.example.test',
      allowInsecureHttp: true,
    });
    expect(link?.allowInsecureHttp).toBe(true);
  });
});
