import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EnrollResponse, EnrollResponseSchema, decode, formatFieldIssues } from '@sipwall/shared';
import { writeFileAtomic } from './atomic-write.js';
import { ControlLinkError } from './control-link-error.js';

/** MQTT credentials handed out at enrollment. */
export type Credentials = EnrollResponse;

export const CREDENTIALS_FILE = 'credentials.json';

/**
 * Reads `stateDir/credentials.json`; null when absent.
 * @throws {ControlLinkError} `AGENT_ERR_CREDENTIALS_INVALID` when present but unreadable or invalid.
 */
export async function readCredentials(stateDir: string): Promise<Credentials | null> {
  const path = join(stateDir, CREDENTIALS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ControlLinkError(
      'AGENT_ERR_CREDENTIALS_INVALID',
      `${path}: cannot read (${(e as Error).message})`,
      {
        cause: e,
      },
    );
  }
  const decoded = decode(EnrollResponseSchema, text);
  if (!decoded.ok) {
    const why =
      decoded.error.code === 'invalid' ? formatFieldIssues(decoded.error.issues) : decoded.error.code;
    throw new ControlLinkError('AGENT_ERR_CREDENTIALS_INVALID', `${path}: invalid credentials file: ${why}`);
  }
  return decoded.value;
}

/** Stores credentials atomically, readable by the agent's user only (0600). */
export async function writeCredentials(stateDir: string, credentials: Credentials): Promise<void> {
  await writeFileAtomic(join(stateDir, CREDENTIALS_FILE), `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
}
