import type { Database } from '../db/client.js';
import { pruneRecords } from '../db/queries/telemetry.js';
import type { Logger } from '../logger.js';
import type { Clock } from './ports.js';

const DAY_MS = 86_400_000;
const EVERY_MS = 3_600_000;

/**
 * Deletes raw telemetry (call records, registration and security events) older than `days`, at
 * start and then hourly. The hourly roll-ups are kept (their peaks never drop: see recomputePeak).
 */
export function startRetention(
  db: Database,
  deps: { clock: Clock; logger: Logger },
  days: number,
): () => void {
  const log = deps.logger.child({ component: 'retention' });
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = running.then(async () => {
      const before = new Date(deps.clock().getTime() - days * DAY_MS);
      try {
        const pruned = await pruneRecords(db, before);
        if (pruned.calls + pruned.registrations + pruned.security > 0)
          log.info({ before: before.toISOString(), ...pruned }, 'old telemetry pruned');
      } catch (e) {
        log.error({ err: e }, 'pruning old telemetry failed');
      }
    });
  };
  run();
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
