/**
 * The bench's user set: N users `u00001..` with password `pw00001..` in realm/domain
 * `bench.test`, written three ways from one list:
 *  - SIPp injection file (`SEQUENTIAL`, then `user;password` per line),
 *  - Kamailio db_text tables (`version`, `auth_ha1`: username -> MD5 HA1, loaded into an htable),
 *  - the agent's `users:` entries (`{ username, domain, ha1: { md5 } }`).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const REALM = 'bench.test';

export interface BenchUser {
  readonly username: string;
  readonly password: string;
  /** MD5(username ":" realm ":" password), hex. */
  readonly ha1: string;
}

export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/**
 * The MD5 digest `response` for a REGISTER to `uri` (RFC 2617 §3.2.2.1): with `qop=auth` when
 * `nc`/`cnonce` are given, else the RFC 2069 form.
 */
export function registerResponse(
  ha1: string,
  nonce: string,
  uri: string,
  qop?: { readonly nc: string; readonly cnonce: string },
): string {
  const ha2 = md5(`REGISTER:${uri}`);
  return qop === undefined
    ? md5(`${ha1}:${nonce}:${ha2}`)
    : md5(`${ha1}:${nonce}:${qop.nc}:${qop.cnonce}:auth:${ha2}`);
}

export function makeUsers(n: number): BenchUser[] {
  const users: BenchUser[] = [];
  for (let i = 1; i <= n; i++) {
    const username = `u${String(i).padStart(5, '0')}`;
    const password = `pw${String(i).padStart(5, '0')}`;
    users.push({ username, password, ha1: md5(`${username}:${REALM}:${password}`) });
  }
  return users;
}

/** SIPp `-inf` file; users are taken in turn (SEQUENTIAL). */
export function writeSippUsers(path: string, users: readonly BenchUser[]): void {
  writeFileSync(path, `SEQUENTIAL\n${users.map((u) => `${u.username};${u.password}\n`).join('')}`);
}

/** db_text directory for Kamailio's htable `ha1` (key = username, value = HA1). */
export function writeKamailioDbtext(dir: string, users: readonly BenchUser[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'version'), 'id(int,auto) table_name(string) table_version(int) \n0:auth_ha1:2\n');
  const rows = users.map((u, i) => `${i + 1}:${u.username}:0:0:${u.ha1}:0\n`).join('');
  writeFileSync(
    join(dir, 'auth_ha1'),
    `id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int) \n${rows}`,
  );
}

export interface AgentConfigOptions {
  readonly sipPort: number;
  readonly adminPort: number;
  readonly stateDir: string;
  readonly users: readonly BenchUser[];
  /** Transaction timers and limits for this run (see run.ts for why). */
  readonly t1Ms?: number;
  readonly maxPendingTransactions?: number;
}

/** The agent's YAML config, written as JSON (JSON is YAML). */
export function writeAgentConfig(path: string, o: AgentConfigOptions): void {
  const limits =
    o.maxPendingTransactions === undefined ? {} : { maxPendingTransactions: o.maxPendingTransactions };
  const timers = o.t1Ms === undefined ? {} : { timers: { t1Ms: o.t1Ms } };
  const config = {
    site: 'bench-register',
    stateDir: o.stateDir,
    log: { level: 'warn' },
    sip: {
      domains: [REALM],
      interfaces: [
        { name: 'lan', role: 'inside', address: '127.0.0.1', port: o.sipPort, transports: ['udp'] },
      ],
      ...timers,
      limits,
    },
    admin: { address: '127.0.0.1', port: o.adminPort },
    users: o.users.map((u) => ({ username: u.username, domain: REALM, ha1: { md5: u.ha1 } })),
  };
  writeFileSync(path, `${JSON.stringify(config, null, 1)}\n`);
}
