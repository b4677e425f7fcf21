import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Creates the process logger (structured JSON to stdout, or to `destination` in tests).
 * Only the composition root calls this.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { svc: 'control-plane' },
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'enrollmentToken'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Hides the password of a URL (`mqtt://u:***@h`), for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
