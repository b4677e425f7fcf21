import { parseArgs } from 'node:util';
import { err, ok, type Result } from '@sipwall/shared';
import type { ConfigOverrides } from './overrides.js';

/** What the command line asks for. */
export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'check-config'; configFile: string; overrides: ConfigOverrides }
  | { kind: 'run'; configFile: string; overrides: ConfigOverrides };

/** Exit codes of `sipwall-agent`. */
export const EXIT = {
  ok: 0,
  /** Config cannot be read or is invalid; or the agent failed at runtime. */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** The control plane refused enrollment (bad, used or expired token). */
  enrollRefused: 3,
} as const;

export const USAGE = `Usage: sipwall-agent --config <file.yaml> [options]

Options:
  -c, --config <file>   agent config file (YAML), required to run
      --check-config    validate the config, print a one-line summary and exit
      --sip-port <n>    override the port of every SIP interface (0-65535, 0 = any free port)
      --admin-port <n>  override the admin API port (0-65535, 0 = any free port)
  -v, --version         print the agent version and exit
  -h, --help            print this help and exit

Exit codes: 0 ok, 1 config or runtime failure, 2 bad command line, 3 enrollment refused.`;

function parsePort(flag: string, value: string | undefined): Result<number | undefined, string> {
  if (value === undefined) return ok(undefined);
  if (!/^\d+$/.test(value)) return err(`${flag}: expected an integer 0-65535, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n > 65535) return err(`${flag}: expected an integer 0-65535, got ${value}`);
  return ok(n);
}

/** Parses `argv` (without node and script) into a command, or a one-line usage error (pure). */
export function parseCliArgs(argv: readonly string[]): Result<CliCommand, string> {
  let values: {
    config?: string | undefined;
    'check-config'?: boolean | undefined;
    'sip-port'?: string | undefined;
    'admin-port'?: string | undefined;
    version?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        'sip-port': { type: 'string' },
        'admin-port': { type: 'string' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return err((e as Error).message);
  }
  if (values.help) return ok({ kind: 'help' });
  if (values.version) return ok({ kind: 'version' });
  const sipPort = parsePort('--sip-port', values['sip-port']);
  if (!sipPort.ok) return sipPort;
  const adminPort = parsePort('--admin-port', values['admin-port']);
  if (!adminPort.ok) return adminPort;
  if (values.config === undefined) return err('--config <file.yaml> is required');
  const overrides: ConfigOverrides = {};
  if (sipPort.value !== undefined) overrides.sipPort = sipPort.value;
  if (adminPort.value !== undefined) overrides.adminPort = adminPort.value;
  return ok({
    kind: values['check-config'] ? 'check-config' : 'run',
    configFile: values.config,
    overrides,
  });
}
