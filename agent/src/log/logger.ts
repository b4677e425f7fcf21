import { type DestinationStream, type Logger, type LevelWithSilent, pino } from 'pino';

/** Keys whose values never reach a log line, at any of the nesting depths we log. */
const SECRET_KEYS = ['token', 'enrollmentToken', 'password', 'authorization', 'ha1'];

/** pino `redact` paths covering each secret key at the top level and up to three levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
  `*.*.*.${k}`,
]);

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Defaults to stdout. */
  destination?: DestinationStream;
}

/** Builds the agent's structured logger (JSON lines), with secrets censored. */
export function createLogger(options: LoggerOptions): Logger {
  const opts = {
    level: options.level,
    base: { name: 'sipwall-agent' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(opts) : pino(opts, options.destination);
}
