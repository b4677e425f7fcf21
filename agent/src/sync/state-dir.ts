import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The state directory and its subdirectories: owner only. */
export const STATE_DIR_MODE = 0o700;
/** Every state file (bindings journal, credentials, desired state, topology key): owner read/write. */
export const STATE_FILE_MODE = 0o600;

/**
 * Creates `stateDir` owner-only (0700) and tightens what an older agent (or a wide umask) left
 * behind: the directory and its subdirectories to 0700, the regular files in them (one level
 * deep, where the agent keeps its state: `passive/` holds a second journal) to 0600. Symlinks
 * are left alone. The state holds SIP contacts and addresses, the MQTT credentials and the
 * topology-hiding key; nobody but the agent's user has a reason to read it.
 *
 * Returns the paths whose mode it changed and those it could not change (not ours: EPERM), for
 * one log line each. Call it before any layer writes.
 */
export async function secureStateDir(
  stateDir: string,
): Promise<{ readonly fixed: string[]; readonly failed: string[] }> {
  await mkdir(stateDir, { recursive: true, mode: STATE_DIR_MODE });
  const fixed: string[] = [];
  const failed: string[] = [];
  const chmodOrNote = async (path: string, mode: number): Promise<void> => {
    try {
      await chmod(path, mode);
      fixed.push(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      failed.push(path);
    }
  };
  const tighten = async (path: string, depth: number): Promise<void> => {
    const st = await lstat(path);
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== STATE_DIR_MODE) await chmodOrNote(path, STATE_DIR_MODE);
      if (depth < 2) {
        for (const name of await readdir(path)) await tighten(join(path, name), depth + 1);
      }
    } else if (st.isFile() && (st.mode & 0o077) !== 0) {
      await chmodOrNote(path, STATE_FILE_MODE);
    }
  };
  await tighten(stateDir, 0);
  return { fixed, failed };
}
