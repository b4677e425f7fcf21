import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DesiredState, DesiredStateSchema, decode } from '@sipwall/shared';
import { writeFileAtomic } from './atomic-write.js';

export const DESIRED_FILE = 'desired.json';

/** What was found on disk: nothing, a valid applied desired state, or a file we cannot use. */
export type PersistedDesired =
  | { kind: 'none' }
  | { kind: 'ok'; desired: DesiredState }
  | { kind: 'invalid'; reason: string };

/** Reads the last applied desired state from `stateDir/desired.json`. */
export async function readPersistedDesired(stateDir: string): Promise<PersistedDesired> {
  let text: string;
  try {
    text = await readFile(join(stateDir, DESIRED_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'invalid', reason: (e as Error).message };
  }
  const decoded = decode(DesiredStateSchema, text);
  return decoded.ok
    ? { kind: 'ok', desired: decoded.value }
    : { kind: 'invalid', reason: decoded.error.code };
}

/** Persists an applied desired state atomically so a restart without the control plane serves it. */
export async function writePersistedDesired(stateDir: string, desired: DesiredState): Promise<void> {
  await writeFileAtomic(join(stateDir, DESIRED_FILE), `${JSON.stringify(desired, null, 2)}\n`, 0o600);
}
