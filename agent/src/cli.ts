import { EXIT, parseCliArgs, USAGE } from './config/cli-args.js';
import { ConfigError } from './config/config-error.js';
import { loadConfig } from './config/load-config.js';
import { summarizeConfig } from './config/summary.js';
import { AGENT_VERSION } from './version.js';

/** Where the CLI writes plain text. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** `sipwall-agent` entry: resolves with the process exit code (after the agent stops, when running). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) {
    io.err(`sipwall-agent: ${parsed.error}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const cmd = parsed.value;
  if (cmd.kind === 'help') {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (cmd.kind === 'version') {
    io.out(AGENT_VERSION);
    return EXIT.ok;
  }
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(cmd.configFile, cmd.overrides);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`sipwall-agent: ${e.code}: ${e.message}`);
    return EXIT.failure;
  }
  if (cmd.kind === 'check-config') {
    io.out(summarizeConfig(loaded.path, loaded.config));
    return EXIT.ok;
  }
  // Loaded lazily so --help/--version/--check-config stay quick.
  const { runAgent } = await import('./main.js');
  const agent = await runAgent(loaded, io.err);
  return agent.stopped;
}

const code = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;
// Anything still holding the event loop after a stop must not keep a stopped agent alive.
setTimeout(() => process.exit(code), 1000).unref();
