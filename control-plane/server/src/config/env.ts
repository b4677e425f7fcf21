import { z } from 'zod';
import { trustedProxyEntryProblem } from '../http/client.js';

const port = z.coerce.number().int().min(0).max(65_535);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** The environment the control plane reads (only main.ts calls `parseEnv`). */
export const EnvSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  MQTT_PORT: port.default(1883),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
  ),
  MQTT_URL: optionalString.pipe(
    z
      .string()
      .regex(/^(mqtts?|wss?|tcp|tls):\/\//, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')
      .optional(),
  ),
  MQTT_PROVISIONING: z.enum(['dynsec', 'none']).default('none'),
  SIPWALL_AGENT_MQTT_URL: optionalString,
  SIPWALL_ADMIN_EMAIL: z.email().default('admin@sipwall.local'),
  SIPWALL_ADMIN_PASSWORD: optionalString.pipe(z.string().min(8, 'must be at least 8 characters').optional()),
  SIPWALL_SECURE_COOKIES: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Where browsers reach the dashboard, e.g. `https://fw.example.com`; mutations from other origins are refused. */
  SIPWALL_PUBLIC_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .refine((u) => new URL(u).pathname === '/', 'must be an origin (no path)')
      .optional(),
  ),
  /** Comma-separated addresses/CIDR blocks (or `loopback`) of reverse proxies whose X-Forwarded-* are believed. */
  SIPWALL_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .superRefine((entries, ctx) => {
      for (const e of entries) {
        const problem = trustedProxyEntryProblem(e);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      }
    }),
  /** Largest request body on any route, in bytes. */
  SIPWALL_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Bearer token a Prometheus scraper sends to `GET /metrics`; unset: loopback clients only. */
  SIPWALL_METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  /** Days raw telemetry (call records, registration and security events) is kept; hourly statistics stay. */
  SIPWALL_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof EnvSchema>;

/** Parses the environment; on failure returns one line per bad variable (`NAME: reason`). */
export function parseEnv(
  source: Record<string, string | undefined>,
): { ok: true; env: Env } | { ok: false; problems: string[] } {
  const r = EnvSchema.safeParse(source);
  if (r.success) return { ok: true, env: r.data };
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`) };
}
