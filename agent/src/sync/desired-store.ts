import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DesiredState, DesiredStateSchema, decode, type FieldIssue } from '@sipwall/shared';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { STATE_FILE_MODE } from './state-dir.js';

/** The applied desired state (what a restart without the control plane boots on). */
export const DESIRED_FILE = 'desired.json';
/** The last confirmed desired state before the applied one (what an auto-revert returns to). */
export const DESIRED_PREV_FILE = 'desired.prev.json';
/** The applied version not yet confirmed by a delivered report (a restart keeps its revert timer going). */
export const UNCONFIRMED_FILE = 'desired.unconfirmed.json';
/** The version the agent reverted by itself, and why (so a restart reports it and does not re-apply it). */
export const REVERTED_FILE = 'desired.reverted.json';

/** What was found on disk: nothing, a valid applied desired state, or a file we cannot use. */
export type PersistedDesired =
  | { kind: 'none' }
  | { kind: 'ok'; desired: DesiredState }
  | { kind: 'invalid'; reason: string };

/** A version reverted because the control plane could not be reached after applying it. */
export interface RevertRecord {
  readonly version: number;
  readonly errors: readonly FieldIssue[];
}

const RevertRecordSchema = z
  .object({
    version: z.number().int().min(1),
    errors: z.array(z.object({ path: z.string(), message: z.string() })),
  })
  .strict();

async function readText(path: string): Promise<string | { error: NodeJS.ErrnoException }> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    return { error: e as NodeJS.ErrnoException };
  }
}

/** Reads a persisted desired state (`desired.json` unless `file` says otherwise). */
export async function readPersistedDesired(stateDir: string, file = DESIRED_FILE): Promise<PersistedDesired> {
  const text = await readText(join(stateDir, file));
  if (typeof text !== 'string') {
    return text.error.code === 'ENOENT' ? { kind: 'none' } : { kind: 'invalid', reason: text.error.message };
  }
  const decoded = decode(DesiredStateSchema, text);
  return decoded.ok
    ? { kind: 'ok', desired: decoded.value }
    : { kind: 'invalid', reason: decoded.error.code };
}

/** Persists a desired state atomically (`desired.json` unless `file` says otherwise); null removes it. */
export async function writePersistedDesired(
  stateDir: string,
  desired: DesiredState | null,
  file = DESIRED_FILE,
): Promise<void> {
  const path = join(stateDir, file);
  if (desired === null) await rm(path, { force: true });
  else await writeFileAtomic(path, `${JSON.stringify(desired, null, 2)}\n`, STATE_FILE_MODE);
}

/** The persisted revert record, or null when there is none (or it cannot be read). */
export async function readRevertRecord(stateDir: string): Promise<RevertRecord | null> {
  const text = await readText(join(stateDir, REVERTED_FILE));
  if (typeof text !== 'string') return null;
  const decoded = decode(RevertRecordSchema, text);
  return decoded.ok ? decoded.value : null;
}

/** Persists (or with null removes) the revert record. */
export async function writeRevertRecord(stateDir: string, record: RevertRecord | null): Promise<void> {
  const path = join(stateDir, REVERTED_FILE);
  if (record === null) await rm(path, { force: true });
  else await writeFileAtomic(path, `${JSON.stringify(record)}\n`, STATE_FILE_MODE);
}

const UnconfirmedSchema = z.object({ version: z.number().int().min(1) }).strict();

/** The applied version still waiting for a delivered report, or null. */
export async function readUnconfirmed(stateDir: string): Promise<number | null> {
  const text = await readText(join(stateDir, UNCONFIRMED_FILE));
  if (typeof text !== 'string') return null;
  const decoded = decode(UnconfirmedSchema, text);
  return decoded.ok ? decoded.value.version : null;
}

/** Persists (or with null removes) the unconfirmed version. */
export async function writeUnconfirmed(stateDir: string, version: number | null): Promise<void> {
  const path = join(stateDir, UNCONFIRMED_FILE);
  if (version === null) await rm(path, { force: true });
  else await writeFileAtomic(path, `${JSON.stringify({ version })}\n`, STATE_FILE_MODE);
}
