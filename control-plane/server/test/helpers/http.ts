import { request } from 'node:http';
import { createLogger, type Logger } from '../../src/logger.js';

/** The production logger writing parsed JSON lines into an array. */
export function captureLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** The tRPC error envelope as it arrives over HTTP. */
export interface TrpcErrorBody {
  error: {
    message: string;
    code: number;
    data: {
      code: string;
      httpStatus: number;
      domainCode: string | null;
      errorId?: string | null;
      issues: { path: string; message: string }[] | null;
    };
  };
}

/** POSTs one tRPC mutation as JSON (`headers` may override the content type). */
export function trpcPost(
  baseUrl: string,
  path: string,
  input: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(input === undefined ? {} : { body: JSON.stringify(input) }),
  });
}

/** POSTs one batched tRPC request: `calls` are [path, input] pairs. */
export function trpcBatch(
  baseUrl: string,
  calls: [string, unknown][],
  headers: Record<string, string> = {},
): Promise<Response> {
  const paths = calls.map(([p]) => p).join(',');
  const body: Record<string, unknown> = {};
  calls.forEach(([, input], i) => {
    body[i] = input;
  });
  return fetch(`${baseUrl}/trpc/${paths}?batch=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The `sipwall_session=…` pair of a response's Set-Cookie, or null. */
export function sessionCookieOf(resp: Response): string | null {
  const set = resp.headers.get('set-cookie');
  return set ? set.split(';')[0]! : null;
}

/**
 * Sends a request with node:http so the body can be streamed chunk by chunk (or announced by a
 * Content-Length it never delivers). Resolves with the status as soon as the server answers, and
 * how many body bytes had been written by then; the request is destroyed after the answer.
 */
export function rawPost(
  url: string,
  opts: {
    headers: Record<string, string | number>;
    chunk: Buffer;
    /** Stop writing after this many bytes (then end the request unless `hang`). */
    maxBytes: number;
    /** Keep the request open after `maxBytes` instead of ending it. */
    hang?: boolean;
    timeoutMs?: number;
  },
): Promise<{ status: number; body: string; bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: opts.headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms (${written} bytes written)`));
    }, opts.timeoutMs ?? 10_000);
    req.on('response', (res) => {
      answered = true;
      const at = written;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, bytesWritten: at });
      });
    });
    // A server that answers early may reset the connection while we still write: not a failure.
    req.on('error', (e) => {
      if (!answered) {
        clearTimeout(timer);
        reject(e);
      }
    });
    // One chunk per tick: the server gets to answer (and we to read it) before we flood the socket.
    const pump = () => {
      if (answered) return;
      if (written >= opts.maxBytes) {
        if (!opts.hang) req.end();
        return;
      }
      written += opts.chunk.length;
      if (req.write(opts.chunk)) setTimeout(pump, 1);
      else req.once('drain', pump);
    };
    pump();
  });
}
