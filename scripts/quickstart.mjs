#!/usr/bin/env node
// `npm start`: the product on one machine, with nothing to set up.
//  - installs and builds when needed,
//  - starts the control plane (dashboard, embedded PGlite in ./data, embedded aedes broker),
//  - creates a "Local" organization/site/agent on first start and runs that agent, enrolled to it.
// Ctrl-C stops both. Ports: PORT (8080) and MQTT_PORT (1883), or the next free ones.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAll, ensureInstalled, freePortFrom, root, spawn, step } from './lib.mjs';
import { agentNodeFlags } from '../agent/bin/node-flags.js';

ensureInstalled();
buildAll();

const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, 'data'));
mkdirSync(dataDir, { recursive: true });
const host = '127.0.0.1';
const httpPort = await pickPort('PORT', 8080);
const mqttPort = await pickPort('MQTT_PORT', 1883);
const children = [];

step(`starting the control plane (data in ${path.relative(root, dataDir) || '.'})`);
const cp = launch('control-plane', process.execPath, [path.join(root, 'control-plane/server/dist/main.js')], {
  PORT: String(httpPort),
  MQTT_PORT: String(mqttPort),
  HOST: host,
  DATA_DIR: dataDir,
});
const baseUrl = `http://${host}:${httpPort}`;
await waitForHealth(baseUrl, cp);

const agentDir = path.join(dataDir, 'local-agent');
const agentConfig = path.join(agentDir, 'agent.yaml');
if (!existsSync(path.join(agentDir, 'state', 'credentials.json'))) {
  step('creating the local organization, site and agent');
  const token = await createLocalAgent(baseUrl);
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(agentConfig, localAgentYaml(baseUrl, token), { mode: 0o600 });
}

const sipPort = await freePortFrom(5060, host);
const adminPort = await freePortFrom(9090, host);
step(`starting the local agent (SIP on ${host}:${sipPort}, admin on ${host}:${adminPort})`);
launch('agent', process.execPath, [
  ...agentNodeFlags(),
  path.join(root, 'agent/bin/sipwall-agent.js'),
  '--config',
  agentConfig,
  '--sip-port',
  String(sipPort),
  '--admin-port',
  String(adminPort),
]);

const login = readInitialLogin();
console.log(`
  sipwall is running.
    dashboard : ${baseUrl}/
    sign in   : ${login.email}${login.password ? ` / ${login.password}` : ' (password as set before; see data/initial-admin.txt)'}
    broker    : mqtt://${host}:${mqttPort} (embedded)
    agent     : admin http://${host}:${adminPort}/healthz, SIP ${host}:${sipPort} (udp, tcp)
  Ctrl-C stops everything.
`);

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => shutdown(0));

// --- helpers --------------------------------------------------------------------------------

async function pickPort(envName, preferred) {
  const wanted = Number(process.env[envName] ?? preferred);
  const port = await freePortFrom(wanted, host);
  if (port !== wanted) console.log(`  ${envName} ${wanted} is taken on ${host}; using ${port}`);
  return port;
}

function launch(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${name} exited (${code ?? signal}); stopping`);
    shutdown(1);
  });
  return child;
}

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(
    () => process.exit(code),
  );
}

async function waitForHealth(url, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('the control plane exited during start');
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the control plane did not answer ${url}/healthz within 60 s`);
}

function readInitialLogin() {
  const email = process.env.SIPWALL_ADMIN_EMAIL ?? 'admin@sipwall.local';
  if (process.env.SIPWALL_ADMIN_PASSWORD) return { email, password: process.env.SIPWALL_ADMIN_PASSWORD };
  const file = path.join(dataDir, 'initial-admin.txt');
  if (!existsSync(file)) return { email, password: undefined };
  const text = readFileSync(file, 'utf8');
  return {
    email: /email:\s*(\S+)/i.exec(text)?.[1] ?? email,
    password: /password:\s*(\S+)/i.exec(text)?.[1],
  };
}

/** Minimal tRPC-over-HTTP client (no batching, no transformer), keeping the session cookie. */
function trpcSession(url) {
  let cookie = '';
  const call = async (method, procedure, input) => {
    const endpoint = `${url}/trpc/${procedure}`;
    const res =
      method === 'query'
        ? await fetch(`${endpoint}?input=${encodeURIComponent(JSON.stringify(input ?? null))}`, {
            headers: { cookie },
          })
        : await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', cookie },
            body: JSON.stringify(input ?? null),
          });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0];
    const body = await res.json();
    if (!res.ok || body.error) throw new Error(`${procedure}: ${JSON.stringify(body.error ?? body)}`);
    return body.result.data;
  };
  return { query: (p, i) => call('query', p, i), mutate: (p, i) => call('mutation', p, i) };
}

async function createLocalAgent(url) {
  const { email, password } = readInitialLogin();
  if (!password)
    throw new Error('no admin password known: set SIPWALL_ADMIN_PASSWORD or keep data/initial-admin.txt');
  const api = trpcSession(url);
  await api.mutate('auth.signIn', { email, password });
  const orgs = await api.query('organizations.list');
  const org =
    orgs.find((o) => o.name === 'Local') ?? (await api.mutate('organizations.create', { name: 'Local' }));
  const sites = await api.query('sites.list', { organizationId: org.id });
  const site =
    sites.find((s) => s.name === 'This machine') ??
    (await api.mutate('sites.create', { organizationId: org.id, name: 'This machine' }));
  const { enrollmentToken } = await api.mutate('agents.create', { siteId: site.id, name: 'local-agent' });
  return enrollmentToken;
}

function localAgentYaml(url, token) {
  return `# Written by \`npm start\`: the local agent, enrolled to the control plane at ${url}.
site: this-machine
stateDir: ./state
log:
  level: info
sip:
  domains: [example.test]
  interfaces:
    - { name: inside, role: inside, address: 127.0.0.1, port: 5060, transports: [udp, tcp] }
admin:
  address: 127.0.0.1
  port: 9090
media:
  driver: relay
controlPlane:
  url: ${url}
  enrollmentToken: ${token}
`;
}
